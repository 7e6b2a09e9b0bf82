namespace RamCoin.Tests.Infrastructure;

/// <summary>
/// What a worker mines against: a real store (Garnet or redis-server) and rng and hasher in the fast profile.
/// The test starts its workers on it and owns them; disposing the rig stops the peers and the store.
/// </summary>
public sealed record MiningRig(StoreServer Store, FastPeers Peers) : IAsyncDisposable
{
    public static async Task<MiningRig> StartAsync(string storeKind = "garnet")
    {
        StoreServer.SkipUnlessRedisInstalled(storeKind);
        var store = await StoreServer.StartAsync(storeKind);
        try
        {
            return new MiningRig(store, await FastPeers.StartAsync());
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    public Task<IDatabase> DatabaseAsync() => Store.DatabaseAsync();

    /// <summary>
    /// A worker in the fast profile on this rig's peers and store, flushing every 200 ms, at DockerCoins' difficulty
    /// <c>0</c> (coins within a second, where the fast profile's own takes many); <paramref name="settings"/> override these.
    /// </summary>
    public Task<RunningService> StartWorkerAsync(Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?> { ["WORKER_FLUSH_MS"] = "200", ["DIFFICULTY"] = "0" };
        foreach (var (name, value) in settings ?? [])
        {
            all[name] = value;
        }

        return RunningService.StartAsync(ServiceNames.Worker, all, Profile.Fast, Peers.With(Store));
    }

    public async ValueTask DisposeAsync()
    {
        await Peers.DisposeAsync();
        await Store.DisposeAsync();
    }
}
