namespace RamCoin.Worker;

public sealed class WorkerOptions
{
    /// <summary>Mining loops run side by side in this worker (classic: 1, as one DockerCoins worker).</summary>
    [ConfigurationKeyName("WORKER_CONCURRENCY")]
    public int Concurrency { get; set; } = 1;

    /// <summary>Pause at the start of each loop (classic: 100 ms, DockerCoins' <c>time.sleep(0.1)</c>).</summary>
    [Knob, ConfigurationKeyName("WORKER_DELAY_MS")]
    public int DelayMs { get; set; } = 100;

    [ConfigurationKeyName("RNG_URL")]
    public string RngUrl { get; set; } = PeerAddresses.Container.RngUrl;

    [ConfigurationKeyName("HASHER_URL")]
    public string HasherUrl { get; set; } = PeerAddresses.Container.HasherUrl;

    /// <summary>
    /// Calls rng and hasher over HTTP/2 without TLS, with prior knowledge (h2c): their URLs then point at their
    /// RAMCOIN_H2C_PORT, which speaks nothing else. The launcher's fast profile sets it.
    /// </summary>
    [ConfigurationKeyName("WORKER_H2C")]
    public bool H2c { get; set; }

    /// <summary>
    /// A hash that starts with this hex prefix is a coin (classic: "0", one hash in 16; fast: <see cref="FastDifficulty"/>).
    /// At least one digit: an empty prefix would make every hash a coin.
    /// </summary>
    [Knob, ConfigurationKeyName(CoinDifficulty.Setting)]
    public string Difficulty { get; set; } = CoinDifficulty.Classic;

    /// <summary>Longest wait for one rng or hasher answer; a frozen peer must never block a loop forever.</summary>
    [ConfigurationKeyName("WORKER_TIMEOUT_MS")]
    public int TimeoutMs { get; set; } = 5000;

    /// <summary>How often the hash counter is written to the store (classic: once a second).</summary>
    [ConfigurationKeyName("WORKER_FLUSH_MS")]
    public int FlushMs { get; set; } = 1000;

    /// <summary>Pause after a failed loop, so that a dead peer is not hammered; short, so work resumes quickly.</summary>
    [ConfigurationKeyName("WORKER_ERROR_BACKOFF_MS")]
    public int ErrorBackoffMs { get; set; } = 200;

    /// <summary>This worker's name in the store and on the dashboard; default: the host name (the pod name).</summary>
    [ConfigurationKeyName("WORKER_ID")]
    public string? InstanceId { get; set; }

    /// <summary>Coins kept in memory while the store is down; past this, new coins are dropped, logged and counted.</summary>
    [ConfigurationKeyName("WORKER_MAX_PENDING_COINS")]
    public int MaxPendingCoins { get; set; } = 100_000;

    /// <summary>Retries of one rng or hasher call after the first try (jittered exponential backoff).</summary>
    [ConfigurationKeyName("WORKER_RETRIES")]
    public int Retries { get; set; } = 2;

    /// <summary>
    /// A worker instance whose last write (<see cref="StoreContract.StoreKeys.WorkerSeen"/>) is older than this
    /// is gone: its per-instance fields and its runs' flush ledger entries are removed (a rollout makes new pod
    /// names each time, so they would grow forever).
    /// </summary>
    [ConfigurationKeyName("WORKER_PRUNE_AFTER_SECONDS")]
    public int PruneAfterSeconds { get; set; } = 3600;

    /// <summary>
    /// The fast profile's difficulty: one hash in 16^4 (65,536). At the fast profile's ~15,000 hashes/s, "0" would add
    /// about 900 coins a second to the wallet (about 0.5 GB of store memory an hour); "0000" adds about 0.23 a second
    /// (about 20,000 coins, a few MB, a day), and a coin still shows on the dashboard every few seconds.
    /// </summary>
    public const string FastDifficulty = "0000";

    public string InstanceIdOr(string hostName) => string.IsNullOrWhiteSpace(InstanceId) ? hostName : InstanceId.Trim();

    /// <summary>
    /// The fast profile: no delay, 64 loops (enough to keep rng and hasher busy without queueing behind them;
    /// docs/performance.md), the fast difficulty, and a coin's log line at Debug (at these speeds one a coin would flood).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> Fast = new Dictionary<string, string?>
    {
        ["WORKER_DELAY_MS"] = "0",
        ["WORKER_CONCURRENCY"] = "64",
        [CoinDifficulty.Setting] = FastDifficulty,
        ["Logging:LogLevel:" + MiningLoops.CoinLog] = "Warning",
    };
}

public sealed class WorkerOptionsValidator : IValidateOptions<WorkerOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerOptions options) => new OptionChecks()
        .Range("WORKER_CONCURRENCY", options.Concurrency, 1, 1024)
        .Range("WORKER_DELAY_MS", options.DelayMs, 0, 60_000)
        .Range("WORKER_TIMEOUT_MS", options.TimeoutMs, 50, 60_000)
        .Range("WORKER_FLUSH_MS", options.FlushMs, 50, 60_000)
        .Range("WORKER_ERROR_BACKOFF_MS", options.ErrorBackoffMs, 0, 60_000)
        .Range("WORKER_MAX_PENDING_COINS", options.MaxPendingCoins, 0, 10_000_000)
        .Range("WORKER_RETRIES", options.Retries, 0, 10)
        // Well above any flush interval: a live worker rewrites its "seen" time every flush, so only a worker
        // silent for this long is pruned.
        .Range("WORKER_PRUNE_AFTER_SECONDS", options.PruneAfterSeconds, 60, 366 * 24 * 3600)
        .Check(PeerAddresses.IsHttpUrl(options.RngUrl), PeerAddresses.UrlFailure("RNG_URL", options.RngUrl))
        .Check(PeerAddresses.IsHttpUrl(options.HasherUrl), PeerAddresses.UrlFailure("HASHER_URL", options.HasherUrl))
        .Check(
            !options.H2c || !(options.RngUrl.StartsWith("https:", StringComparison.OrdinalIgnoreCase) || options.HasherUrl.StartsWith("https:", StringComparison.OrdinalIgnoreCase)),
            "WORKER_H2C=true calls HTTP/2 without TLS: RNG_URL and HASHER_URL must then be http:// URLs.")
        .Check(CoinDifficulty.IsValid(options.Difficulty), CoinDifficulty.Failure(options.Difficulty))
        .Result;
}
