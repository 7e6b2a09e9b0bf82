namespace RamCoin.WebUI;

/// <summary>
/// What the web UI accepts of the records workers write into the store. The JSON may come from anyone (redis-cli,
/// an old or foreign worker): a record with a missing part or a number no worker could have measured is skipped
/// whole, so that the dashboard's arithmetic only ever sees sane values.
/// </summary>
public static class DashboardChecks
{
    /// <summary>Longest instance name or version kept (a DNS name is at most 253 characters).</summary>
    public const int MaxName = 253;

    /// <summary>More than any worker computes (a year at a million hashes a second is 3e13): a larger count is not one.</summary>
    public const long MaxCount = 1_000_000_000_000_000;

    private const int MaxInstances = 1_000;
    private const int MaxMs = PeerInstanceReport.MaxMs;

    /// <summary>A worker instance, rng or hasher host, or version as it may be shown.</summary>
    public static bool Name(string? name) => !string.IsNullOrEmpty(name) && name.Length <= MaxName && !name.Any(char.IsControl);

    /// <summary>A name as a log line may quote it.</summary>
    public static string Shown(string name) => name.Length <= 40 ? name : name[..40] + "…";

    public static bool Usable(WorkerReport report) =>
        Name(report.Version)
        && report.DelayMs is >= 0 and <= MaxMs
        && report.Concurrency is >= 0 and <= 1_000_000
        && double.IsFinite(report.At)
        && report.Rng is { } rng && Usable(rng)
        && report.Hasher is { } hasher && Usable(hasher);

    public static bool Usable(PeerReport peer) =>
        Ms(peer.P50Ms) && Ms(peer.P95Ms) && Ms(peer.P99Ms)
        && peer.InFlight is >= 0 and <= 1_000_000
        && peer.Calls is >= 0 and <= MaxCount
        && peer.Instances is { Count: <= MaxInstances } instances
        && instances.All(i => Name(i.Key) && i.Value is { Calls: >= 0 and <= MaxCount } value && Name(value.Version)
            && value.Concurrency is null or (>= 1 and <= PeerInstanceReport.MaxConcurrency)
            && value.ServiceMs is null or (>= 0 and <= MaxMs)
            && value.ExtraLatencyMs is null or (>= 0 and <= MaxMs));

    public static bool Usable(RecentCoin coin) =>
        coin.Hash is { Length: 64 } hash && hash.All(char.IsAsciiHexDigitLower)
        && double.IsFinite(coin.At)
        && Name(coin.Worker);

    private static bool Ms(double value) => double.IsFinite(value) && value >= 0 && value <= MaxMs;
}
