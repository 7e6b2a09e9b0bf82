namespace RamCoin.Tests.Infrastructure;

/// <summary>rng, hasher, webui and worker on loopback ports beside an embedded store, shared by a test class.</summary>
public sealed class AllServices : IAsyncLifetime
{
    private StoreServer? _store;

    public Dictionary<string, RunningService> Services { get; } = [];

    public HttpClient Client(string service) => Services[service].Client;

    public async ValueTask InitializeAsync()
    {
        _store = await StoreServer.StartGarnetAsync();
        var rng = await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast);
        var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
        Services[ServiceNames.Rng] = rng;
        Services[ServiceNames.Hasher] = hasher;
        Services[ServiceNames.WebUI] = await RunningService.StartAsync(ServiceNames.WebUI, peers: _store.Peers());
        // A slow worker: it must answer its endpoints, not load the machine.
        Services[ServiceNames.Worker] = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_DELAY_MS"] = "200" }, peers: _store.Peers(rng.Address, hasher.Address));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in Services.Values)
        {
            await service.DisposeAsync();
        }

        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }
}
