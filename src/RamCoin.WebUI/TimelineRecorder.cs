using System.Text;

namespace RamCoin.WebUI;

/// <summary>
/// The web UI's timeline: the events its <see cref="TimelineDetector"/> finds in each tick, and the hash counter and
/// rate of the last hour, for the page, <c>/timeline.json</c> and <c>/timeline.csv</c>. Kept in this process's
/// memory, like the charts' history it is exported with: a web UI restart starts a new timeline (its first event
/// says so). In the store it would be untrusted input that every replica of the web UI writes its own copy of, and
/// the store's own outage is one of the events to record.
/// </summary>
public sealed class TimelineRecorder
{
    /// <summary>Events kept at most (the oldest go first); a hostile store's made-up workers cannot grow the list past it.</summary>
    public const int MaxEvents = 1_000;

    /// <summary>Points of the exported series: an hour at one a second, a lab's length.</summary>
    public const int SeriesPoints = 60 * 60;

    /// <summary>Events a dashboard carries to the live pages: those of the last minute, at most this many.</summary>
    public const int RecentEvents = 20;

    private const double RecentSeconds = 60;

    private readonly Lock _lock = new();
    private readonly TimelineDetector _detector = new();
    private readonly Queue<TimelineEvent> _events = new();
    private readonly Queue<(double T, long? Hashes, double? Rate, double? Ceiling)> _series = new();
    private readonly List<KnobChange> _knobChanges = [];
    private readonly Dictionary<string, Dictionary<string, string?>> _knobs = new(StringComparer.Ordinal);

    /// <summary>Records a tick; answers the events of the last minute, for the dashboard that the pages get.</summary>
    public IReadOnlyList<TimelineEvent> Record(Dashboard dashboard, IEnumerable<WorkerReport> reports)
    {
        var observation = TimelineObservation.From(dashboard, reports);
        lock (_lock)
        {
            var found = _detector.Observe(observation, [.. _knobChanges]);
            _knobChanges.Clear();
            foreach (var e in found)
            {
                _events.Enqueue(e);
                if (_events.Count > MaxEvents)
                {
                    _events.Dequeue();
                }
            }

            _series.Enqueue((dashboard.Now, dashboard.Stale ? null : dashboard.Hashes, dashboard.Stale ? null : dashboard.Rate, dashboard.Stale ? null : observation.Ceiling));
            if (_series.Count > SeriesPoints)
            {
                _series.Dequeue();
            }

            return [.. _events.Where(e => dashboard.Now - e.At <= RecentSeconds).TakeLast(RecentEvents)];
        }
    }

    /// <summary>A service's knobs as the knob controls last read them (the page loads them before any change).</summary>
    public void KnobsRead(string service, IReadOnlyDictionary<string, string?> knobs)
    {
        lock (_lock)
        {
            _knobs[service] = new Dictionary<string, string?>(knobs, StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// A change through the knob controls, as the service answered it: the knobs whose value differs from the last
    /// read ("?" when there was none) are dated and listed at the next tick. No extra request reaches the service.
    /// </summary>
    public void KnobsChanged(string service, IReadOnlyDictionary<string, string?> after)
    {
        lock (_lock)
        {
            var before = _knobs.GetValueOrDefault(service);
            foreach (var (name, value) in after)
            {
                string? from = "?";
                if (before is not null)
                {
                    from = before.GetValueOrDefault(name);
                }

                if (from != value && DashboardChecks.Name(name))
                {
                    _knobChanges.Add(new KnobChange(service, name, from, value));
                }
            }

            _knobs[service] = new Dictionary<string, string?>(after, StringComparer.Ordinal);
        }
    }

    /// <summary>Every event kept, in time order.</summary>
    public List<TimelineEvent> Events()
    {
        lock (_lock)
        {
            return [.. _events.OrderBy(e => e.At).ThenBy(e => e.Id)];
        }
    }

    public Timeline Snapshot()
    {
        lock (_lock)
        {
            return new Timeline(
                [.. _events.OrderBy(e => e.At).ThenBy(e => e.Id)],
                [.. _series.Select(p => p.T)], [.. _series.Select(p => p.Hashes)], [.. _series.Select(p => p.Rate)], [.. _series.Select(p => p.Ceiling)]);
        }
    }

    /// <summary>
    /// One row a second: time, hashes, rate, expected ceiling, and the events of that second (the events before the first row are in
    /// it). Text fields are quoted; every text starts with a word of ours, never with a spreadsheet formula's sign.
    /// </summary>
    public static string Csv(Timeline timeline)
    {
        var rows = new StringBuilder("unix_time,utc,hashes,hashes_per_second,expected_ceiling,events\n");
        var events = timeline.Events.OrderBy(e => e.At).ToList();
        var next = 0;
        for (var i = 0; i < timeline.T.Count; i++)
        {
            var end = i + 1 < timeline.T.Count ? timeline.T[i + 1] : double.PositiveInfinity;
            var texts = new List<string>();
            while (next < events.Count && events[next].At < end)
            {
                texts.Add($"{TimelineKindConverter.Name(events[next].Kind)}: {events[next].Text}");
                next++;
            }

            var t = timeline.T[i];
            rows.Append(CultureInfo.InvariantCulture, $"{t:F3},{DateTimeOffset.FromUnixTimeMilliseconds((long)(t * 1000)):yyyy-MM-dd'T'HH:mm:ss.fff'Z'},")
                .Append(timeline.Hashes[i]?.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(timeline.Rate[i]?.ToString("F2", CultureInfo.InvariantCulture)).Append(',')
                .Append(timeline.Ceiling[i]?.ToString("F2", CultureInfo.InvariantCulture)).Append(',')
                .Append(Quoted(string.Join(" | ", texts))).Append('\n');
        }

        return rows.ToString();
    }

    private static string Quoted(string text) => text.Length == 0 ? "" : "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
