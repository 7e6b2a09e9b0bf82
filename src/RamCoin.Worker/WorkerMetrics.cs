using System.Diagnostics.Metrics;

namespace RamCoin.Worker;

/// <summary>The worker's own metrics: hashes and coins, loop errors by kind, store writes and what waits for them.</summary>
public sealed class WorkerMetrics
{
    public WorkerMetrics(IMeterFactory meters, MiningStats stats)
    {
        var meter = meters.Create(Hosting.Telemetry.Prefix + "Worker");
        Hashes = meter.CreateCounter<long>("ramcoin.worker.hashes", "{hash}", "Hashes computed (rng and hasher both answered).");
        Coins = meter.CreateCounter<long>("ramcoin.worker.coins", "{coin}", "Coins found (hashes that meet the difficulty).");
        LoopErrors = meter.CreateCounter<long>("ramcoin.worker.loop.errors", "{error}", "Mining loops that failed, by kind.");
        StoreWrites = meter.CreateHistogram<double>("ramcoin.worker.store.write.duration", "s", "Time of one flush to the store (MULTI/EXEC).");
        meter.CreateObservableGauge("ramcoin.worker.pending.hashes", () => stats.HashesPending, "{hash}", "Hashes computed but not yet in the store's counter.");
        meter.CreateObservableGauge("ramcoin.worker.pending.coins", () => stats.CoinsPending, "{coin}", "Coins found but not yet in the wallet.");
    }

    public Counter<long> Hashes { get; }

    public Counter<long> Coins { get; }

    public Counter<long> LoopErrors { get; }

    public Histogram<double> StoreWrites { get; }

    /// <summary>The kind of a failed loop, as a low-cardinality label.</summary>
    public static string KindOf(Exception ex) => ex switch
    {
        Polly.Timeout.TimeoutRejectedException or TimeoutException or TaskCanceledException => "timeout",
        Polly.CircuitBreaker.BrokenCircuitException => "circuit_open",
        HttpRequestException { StatusCode: not null } => "http_status",
        HttpRequestException => "connection",
        InvalidDataException => "bad_answer",
        _ => "other",
    };
}
