namespace RamCoin.StoreContract;

/// <summary>
/// Store keys. <see cref="Hashes"/> and <see cref="Wallet"/> keep DockerCoins' meaning so that an original
/// worker or webui can share the store with ours; RamCoin's own keys carry a prefix so they never clash.
/// </summary>
public static class StoreKeys
{
    /// <summary>String counter: every hash computed by every worker.</summary>
    public const string Hashes = "hashes";

    /// <summary>Hash: coin hex digest → the raw bytes that hash to it.</summary>
    public const string Wallet = "wallet";

    /// <summary>The start of every key of RamCoin's own.</summary>
    public const string Prefix = "ramcoin:";

    /// <summary>Hash: worker instance → hashes it has written to <see cref="Hashes"/>.</summary>
    public const string WorkerHashes = Prefix + "worker:hashes";

    /// <summary>Hash: worker instance → unix seconds of its last flush.</summary>
    public const string WorkerSeen = Prefix + "worker:seen";

    /// <summary>Hash: worker instance → JSON of what it measured lately (rng and hasher latency, instances, versions).</summary>
    public const string WorkerTelemetry = Prefix + "worker:telemetry";

    /// <summary>List, newest first: JSON of the latest coins (hash, when, which worker), at most <see cref="RecentCoinsKept"/>.</summary>
    public const string RecentCoins = Prefix + "coins:recent";

    public const int RecentCoinsKept = 20;

    /// <summary>Hash: worker run ("instance/run id") → sequence number of its last applied flush (exactly-once writes).</summary>
    public const string WorkerFlushes = Prefix + "worker:flushes";
}
