using RamCoin.Lessons;
using RamCoin.Rng;

// The service's own program: what its container image runs (Native AOT). The launcher hosts the same parts.
if (await ServiceProgram.BeginAsync(ServiceNames.Rng, args) is int answered)
{
    return answered;
}

var builder = WebApplication.CreateSlimBuilder(args);
builder.AddServiceDefaults(ServiceNames.Rng);
builder.AddLessons();
builder.AddRng();

var app = builder.Build();
app.MapDefaultEndpoints();
app.UseLessons();
app.MapRngApi();

return await app.RunServiceAsync();
