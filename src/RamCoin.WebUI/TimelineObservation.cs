namespace RamCoin.WebUI;

/// <summary>
/// What the timeline needs of one tick: the time, whether the store answered, the rate, every instance of every
/// service with its version, and the settings the workers report (<c>WORKER_DELAY_MS</c>).
/// </summary>
public sealed record TimelineObservation(
    double Now,
    bool Stale,
    double Rate,
    ServiceVersion WebUI,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Instances,
    IReadOnlyDictionary<(string Service, string Name), string> Settings)
{
    /// <summary>The expected ceiling (hashes/s) and the part that sets it; null when unknown.</summary>
    public double? Ceiling { get; init; }

    public string? LimitedBy { get; init; }

    /// <summary>A tick's dashboard and the workers' reports it was computed from (none while the store is down).</summary>
    public static TimelineObservation From(Dashboard dashboard, IEnumerable<WorkerReport> reports)
    {
        var instances = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal)
        {
            ["worker"] = dashboard.Workers.GroupBy(w => w.Instance).ToDictionary(g => g.Key, g => g.Last().Version, StringComparer.Ordinal),
            ["rng"] = dashboard.Rng.Instances.GroupBy(i => i.Instance).ToDictionary(g => g.Key, g => g.Last().Version, StringComparer.Ordinal),
            ["hasher"] = dashboard.Hasher.Instances.GroupBy(i => i.Instance).ToDictionary(g => g.Key, g => g.Last().Version, StringComparer.Ordinal),
        };
        var settings = new Dictionary<(string, string), string>();
        var delays = reports.Select(r => r.DelayMs).Distinct().Order().ToList();
        if (delays.Count > 0)
        {
            settings[("worker", "WORKER_DELAY_MS")] = string.Join(", ", delays.Select(d => d.ToString(CultureInfo.InvariantCulture)));
        }

        return new TimelineObservation(dashboard.Now, dashboard.Stale, dashboard.Rate, dashboard.WebUI, instances, settings)
        {
            Ceiling = dashboard.Ceiling?.HashesPerSecond,
            LimitedBy = dashboard.Ceiling?.LimitedBy,
        };
    }
}
