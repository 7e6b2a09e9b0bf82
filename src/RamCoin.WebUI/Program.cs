using RamCoin.Lessons;
using RamCoin.WebUI;

// The service's own program: what its container image runs (Native AOT). The launcher hosts the same parts.
if (await ServiceProgram.BeginAsync(ServiceNames.WebUI, args) is int answered)
{
    return answered;
}

var builder = WebApplication.CreateSlimBuilder(args);
builder.AddServiceDefaults(ServiceNames.WebUI);
builder.AddLessons();
builder.AddWebUI();

var app = builder.Build();
app.MapDefaultEndpoints();
app.UseLessons();
app.MapWebUIApi();

return await app.RunServiceAsync();
