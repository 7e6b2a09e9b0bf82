namespace RamCoin.Tests.Infrastructure;

/// <summary>rng and hasher in the fast profile, the peers most worker tests mine against.</summary>
public sealed record FastPeers(RunningService Rng, RunningService Hasher) : IAsyncDisposable
{
    public static async Task<FastPeers> StartAsync() => new(
        await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast),
        await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast));

    /// <summary>Peers for a worker: these two and the given store.</summary>
    public PeerAddresses With(StoreServer store) => store.Peers(Rng.Address, Hasher.Address);

    public async ValueTask DisposeAsync()
    {
        await Rng.DisposeAsync();
        await Hasher.DisposeAsync();
    }
}
