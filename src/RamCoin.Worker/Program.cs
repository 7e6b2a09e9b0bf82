// The service's own program: what its container image runs (Native AOT). The launcher hosts the same parts.
var builder = await ServiceProgram.CreateBuilderAsync(ServiceNames.Worker, args);
builder.AddServiceDefaults(ServiceNames.Worker).AddLessons().AddWorker();

var app = builder.Build();
app.MapDefaultEndpoints().UseLessons().MapWorkerApi();

return await app.RunServiceAsync();
