using RamCoin.Lessons;
using RamCoin.Worker;

// The service's own program: what its container image runs (Native AOT). The launcher hosts the same parts.
if (await ServiceProgram.BeginAsync(ServiceNames.Worker, args) is int answered)
{
    return answered;
}

var builder = WebApplication.CreateSlimBuilder(args);
builder.AddServiceDefaults(ServiceNames.Worker);
builder.AddLessons();
builder.AddWorker();

var app = builder.Build();
app.MapDefaultEndpoints();
app.UseLessons();
app.MapWorkerApi();

return await app.RunServiceAsync();
