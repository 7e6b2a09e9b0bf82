// The service's own program: what its container image runs (Native AOT). The launcher hosts the same parts.
var builder = await ServiceProgram.CreateBuilderAsync(ServiceNames.Hasher, args);
builder.AddServiceDefaults(ServiceNames.Hasher).AddLessons().AddHasher();

var app = builder.Build();
app.MapDefaultEndpoints().UseLessons().MapHasherApi();

return await app.RunServiceAsync();
