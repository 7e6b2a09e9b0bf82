namespace RamCoin.StoreContract;

/// <summary>
/// What a worker publishes each flush in <see cref="StoreKeys.WorkerTelemetry"/> (one field per worker instance): the
/// web UI's dashboard and the bench read it back. One definition, written and read through <see cref="StoreJsonContext"/>.
/// </summary>
public sealed record WorkerReport(string Version, int DelayMs, int Concurrency, double At, PeerReport Rng, PeerReport Hasher);

/// <summary>What one worker saw of one peer (rng or hasher) lately: latency in ms, calls in flight and answered, who answered.</summary>
public sealed record PeerReport(double P50Ms, double P95Ms, double P99Ms, int InFlight, long Calls, Dictionary<string, PeerInstanceReport> Instances);

/// <summary>
/// One rng or hasher instance (its host name: the pod name) as seen by a worker, with what it last said of its capacity
/// (the X-RamCoin-Concurrency, -Service-Ms and -Extra-Latency-Ms headers). Optional, so that old and new workers mix:
/// no ServiceMs means the instance said nothing (an old rng, an old worker); ServiceMs without Concurrency means no limit.
/// </summary>
public sealed record PeerInstanceReport(long Calls, string Version, int? Concurrency = null, int? ServiceMs = null, int? ExtraLatencyMs = null)
{
    /// <summary>
    /// The largest concurrency and milliseconds (here and in latencies and delays) that a report may carry: the web UI
    /// skips a report past them, so the worker takes a peer's header past them as absent.
    /// </summary>
    public const int MaxConcurrency = 1_000_000;

    public const int MaxMs = 3_600_000;
}
