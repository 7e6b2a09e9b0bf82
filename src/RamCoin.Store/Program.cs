using RamCoin.Store;

// The store's own program: what its container image runs (on the JIT: Garnet is not AOT-ready). The launcher hosts the same parts.
if (await StoreProgram.BeginAsync(args) is int answered)
{
    return answered;
}

var builder = Host.CreateApplicationBuilder(args);
builder.AddStoreDefaults();
builder.AddEmbeddedStore();

using var host = builder.Build();
return await host.RunStoreAsync();
