namespace RamCoin.Tests.Infrastructure;

/// <summary>
/// DockerCoins' classic timings on a real Garnet store: rng serving one request at a time for 100 ms, hasher taking
/// 100 ms, and a web UI that knows them both. The test starts its workers (a loop pauses 100 ms) and owns them;
/// disposing the rig stops the rest.
/// </summary>
public sealed record ClassicRig(StoreServer Store, RunningService Rng, RunningService Hasher, RunningService WebUI) : IAsyncDisposable
{
    /// <param name="rngSettings">rng's own settings (<see cref="AdminKnobs.Enabled"/> to change its knobs).</param>
    public static async Task<ClassicRig> StartAsync(Dictionary<string, string?>? rngSettings = null)
    {
        var started = new List<IAsyncDisposable>();
        try
        {
            var store = await StoreServer.StartGarnetAsync();
            started.Add(store);
            var rng = await RunningService.StartAsync(ServiceNames.Rng, rngSettings);
            started.Add(rng);
            var hasher = await RunningService.StartAsync(ServiceNames.Hasher);
            started.Add(hasher);
            var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: store.Peers(rng.Address, hasher.Address));
            return new ClassicRig(store, rng, hasher, webui);
        }
        catch
        {
            started.Reverse();
            foreach (var part in started)
            {
                await part.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>A classic worker of <paramref name="loops"/> mining loops, named <paramref name="id"/> on the dashboard.</summary>
    public Task<RunningService> StartWorkerAsync(string id, int loops = 1) => RunningService.StartAsync(
        ServiceNames.Worker,
        new() { ["WORKER_ID"] = id, ["WORKER_CONCURRENCY"] = loops.ToString(CultureInfo.InvariantCulture) },
        peers: Store.Peers(Rng.Address, Hasher.Address));

    public async ValueTask DisposeAsync()
    {
        await WebUI.DisposeAsync();
        await Hasher.DisposeAsync();
        await Rng.DisposeAsync();
        await Store.DisposeAsync();
    }
}
