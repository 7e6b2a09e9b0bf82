// The service's own program: what its container image runs (Native AOT). The launcher hosts the same parts.
var builder = await ServiceProgram.CreateBuilderAsync(ServiceNames.Rng, args);
builder.AddServiceDefaults(ServiceNames.Rng).AddLessons().AddRng();

var app = builder.Build();
app.MapDefaultEndpoints().UseLessons().MapRngApi();

return await app.RunServiceAsync();
