// The service's own program: what its container image runs (Native AOT). The launcher hosts the same parts.
var builder = await ServiceProgram.CreateBuilderAsync(ServiceNames.WebUI, args);
builder.AddServiceDefaults(ServiceNames.WebUI).AddLessons().AddWebUI();

var app = builder.Build();
app.MapDefaultEndpoints().UseLessons().MapWebUIApi();

return await app.RunServiceAsync();
