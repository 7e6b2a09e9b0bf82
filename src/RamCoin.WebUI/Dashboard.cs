namespace RamCoin.WebUI;

/// <summary>Everything the dashboard page shows, computed on the server once a second and pushed as one event.</summary>
public sealed record Dashboard(
    double Now,
    bool Stale,
    double? StaleSince,
    double UptimeSeconds,
    long Hashes,
    long Coins,
    double Rate,
    double CoinsPerMinute,
    ServiceVersion WebUI,
    IReadOnlyList<WorkerView> Workers,
    PeerView Rng,
    PeerView Hasher,
    string? Hint,
    IReadOnlyList<CoinView> RecentCoins,
    Ceiling? Ceiling = null)
{
    /// <summary>The timeline's events of the last minute (<see cref="TimelineRecorder"/>): a page adds those it lacks.</summary>
    public IReadOnlyList<TimelineEvent> Events { get; init; } = [];
}

/// <summary>
/// The rate the deployment can reach now (<see cref="ExpectedCeiling"/>): the smallest of its terms, which part sets it
/// (workers, rng or hasher) and why, as in "1 rng × 1 request at a time ÷ 100 ms". Read by <c>ramcoin check</c>: keep the names.
/// </summary>
public sealed record Ceiling(double HashesPerSecond, string LimitedBy, string Explanation, IReadOnlyList<CeilingTerm> Terms);

public sealed record CeilingTerm(string Part, double HashesPerSecond, string Explanation);

public sealed record ServiceVersion(string Instance, string Version);

/// <summary>
/// The charts' last minutes, one point per sample, so that a page opened now (or reloaded by an update)
/// starts with the recent past instead of an empty chart. Nulls are samples taken while the store was down.
/// </summary>
public sealed record DashboardHistory(
    List<double> T, List<double?> Rate, List<double> RngP50, List<double> RngP95, List<double> HasherP50, List<double> HasherP95,
    List<int> RngInFlight, List<int> HasherInFlight)
{
    /// <summary>Every event of the timeline, so that the chart's markers and the list survive a reload.</summary>
    public IReadOnlyList<TimelineEvent> Events { get; init; } = [];
}

/// <summary>A worker instance (host name: the pod name) and its own rate over the sliding window.</summary>
public sealed record WorkerView(string Instance, double Rate, long Hashes, double SeenSecondsAgo, string Version);

/// <summary>rng or hasher as the workers measured it lately: latency, calls in flight, and who answered.</summary>
public sealed record PeerView(double P50Ms, double P95Ms, int InFlight, IReadOnlyList<PeerInstanceView> Instances);

public sealed record PeerInstanceView(string Instance, long Calls, string Version);

/// <summary>A recent coin and whether it checks out: SHA-256 of the stored bytes is the key, and the key has the prefix.</summary>
public sealed record CoinView(string Hash, double At, string Worker, bool Verified);
