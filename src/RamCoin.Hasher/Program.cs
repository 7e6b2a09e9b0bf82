using RamCoin.Hasher;
using RamCoin.Lessons;

// The service's own program: what its container image runs (Native AOT). The launcher hosts the same parts.
if (await ServiceProgram.BeginAsync(ServiceNames.Hasher, args) is int answered)
{
    return answered;
}

var builder = WebApplication.CreateSlimBuilder(args);
builder.AddServiceDefaults(ServiceNames.Hasher);
builder.AddLessons();
builder.AddHasher();

var app = builder.Build();
app.MapDefaultEndpoints();
app.UseLessons();
app.MapHasherApi();

return await app.RunServiceAsync();
