namespace RamCoin.Tests;

/// <summary>
/// A worker's peer out of reach for three seconds (stopped, or its link cut), and what the worker must do about it:
/// count its failed calls as errors while it lasts, mine again once it is over, and lose and repeat nothing.
/// </summary>
public static class PeerOutage
{
    /// <summary>Cuts the peer off, restores it, stops the worker and checks that the store counted every hash once.</summary>
    /// <param name="outage">What was cut, for the messages ("rng stopped").</param>
    /// <returns>How long mining took to resume once the peer was back.</returns>
    public static async Task<TimeSpan> RideOutAsync(RunningService worker, StoreServer store, string outage, Func<Task> cut, Func<Task> restore)
    {
        var stats = worker.Get<MiningStats>();
        await cut();
        var errorsAtCut = stats.Errors;
        await Task.Delay(TimeSpan.FromSeconds(3), Ct);
        var computedWhileCut = stats.Computed;
        Assert.True(stats.Errors > errorsAtCut, $"{outage}: the calls that fail meanwhile are counted as errors");

        await restore();
        var clock = Stopwatch.StartNew();
        await Eventually.TrueAsync(() => stats.Computed > computedWhileCut + 10, $"{outage}: mining resumes once the peer is back");
        var resumed = clock.Elapsed;
        await worker.DisposeAsync();

        var counted = (long)await (await store.DatabaseAsync()).StringGetAsync(StoreKeys.Hashes);
        Figures.Report($"{outage} 3 s: mining resumed {resumed.TotalMilliseconds:F0} ms after it was back; computed {stats.Computed}, counted {counted}, failed loops {stats.Errors}");
        Assert.Equal(stats.Computed, counted);
        return resumed;
    }
}
