using System.Security.Cryptography;

namespace RamCoin.WebUI;

/// <summary>
/// The dashboard's arithmetic, without I/O and without a clock: each tick's <see cref="StoreSample"/> and time in,
/// a <see cref="Dashboard"/> out. Keeps the window's history (one entry a tick) for the rates. Its inputs may be
/// anything a store held: counts that go down, times out of range, sums past a long; none of them throws or reaches
/// the JSON as a number it cannot write.
/// </summary>
public sealed class DashboardCalculator(string prefix, double started)
{
    /// <summary>The rate is the counter's growth over this window.</summary>
    public const double WindowSeconds = 10;

    /// <summary>Workers not heard from for this long are gone (an old pod, a stopped process).</summary>
    public const double WorkerGoneSeconds = 30;

    /// <summary>How long the history is kept: coins per minute need a minute.</summary>
    private const double HistorySeconds = 60;

    private static readonly PeerView EmptyPeer = new(0, 0, 0, []);

    private readonly Queue<(double At, long Hashes, long Coins, IReadOnlyDictionary<string, long> Workers)> _history = new();
    private Dashboard? _last;
    private double? _lastFresh;

    /// <summary>The coin prefix as the workers' <c>DIFFICULTY</c> setting gives it.</summary>
    public static string Prefix(string? difficulty) => (difficulty ?? "0").Trim().ToLowerInvariant();

    /// <summary>The dashboard of a tick whose store read answered.</summary>
    public Dashboard Compute(StoreSample sample, double now, ServiceVersion webui)
    {
        // A counter the tick could not use counts as unchanged, so the rate does not jump.
        var previous = _history.Count > 0 ? _history.Last() : default;
        var hashes = sample.Hashes is long h and >= 0 ? h : previous.Hashes;
        var coins = sample.Coins is long c and >= 0 ? c : previous.Coins;
        var seen = sample.Seen;
        var reports = sample.Reports.Where(r => DashboardChecks.Usable(r.Value)).ToDictionary(StringComparer.Ordinal);

        _history.Enqueue((now, hashes, coins, sample.WorkerTotals));
        while (_history.Count > 2 && now - _history.Peek().At > HistorySeconds)
        {
            _history.Dequeue();
        }

        var windowStart = _history.FirstOrDefault(s => now - s.At <= WindowSeconds + 0.5);
        var rate = Rate(hashes - (double)windowStart.Hashes, now - windowStart.At);
        var oldest = _history.Peek();
        var coinsPerMinute = Rate(coins - (double)oldest.Coins, now - oldest.At) * 60;

        var workers = sample.WorkerTotals
            .Where(w => w.Value >= 0 && seen.GetValueOrDefault(w.Key) >= now - WorkerGoneSeconds)
            .Select(w => new WorkerView(
                w.Key,
                WorkerRate(w.Key, w.Value, now),
                w.Value,
                Math.Max(0, now - seen.GetValueOrDefault(w.Key)),
                reports.TryGetValue(w.Key, out var r) ? r.Version : "?"))
            .OrderBy(w => w.Instance, StringComparer.Ordinal)
            .ToList();
        var rng = Merge(reports.Values.Select(r => r.Rng));
        var hasher = Merge(reports.Values.Select(r => r.Hasher));
        _lastFresh = now;
        _last = new Dashboard(
            now, false, null, now - started, hashes, coins, Math.Round(rate, 2), Math.Round(coinsPerMinute, 1),
            webui, workers, rng, hasher, Hint(reports.Values, rng, hasher),
            [.. sample.Recent.Select(s => new CoinView(s.Coin.Hash, s.Coin.At, s.Coin.Worker, Verified(s.Coin.Hash, s.Bytes, prefix)))],
            // Live workers only: a departed worker's last report would keep its loops in the ceiling.
            ExpectedCeiling.Of([.. workers.Where(w => reports.ContainsKey(w.Instance)).Select(w => reports[w.Instance])]));
        return _last;
    }

    /// <summary>The dashboard of a tick whose store read failed or ran out of time: the last one again, marked stale.</summary>
    public Dashboard Unavailable(double now, ServiceVersion webui)
    {
        _last = _last is null
            ? new Dashboard(now, true, null, now - started, 0, 0, 0, 0, webui, [], EmptyPeer, EmptyPeer, null, [])
            : _last with { Now = now, Stale = true, StaleSince = _lastFresh, UptimeSeconds = now - started, WebUI = webui };
        return _last;
    }

    /// <summary>Growth per second over a span; 0 for no span and for a counter that went down (a store that was reset).</summary>
    public static double Rate(double growth, double seconds) => seconds > 0 && growth > 0 ? growth / seconds : 0;

    /// <summary>A worker's rate over the window, from the oldest sample in it that knows the worker (a new pod has none older).</summary>
    private double WorkerRate(string instance, long total, double now)
    {
        foreach (var sample in _history)
        {
            if (now - sample.At <= WindowSeconds + 0.5 && sample.At < now && sample.Workers.TryGetValue(instance, out var then))
            {
                return Math.Round(Rate(total - (double)then, now - sample.At), 2);
            }
        }

        return 0;
    }

    /// <summary>A recent coin checks out when the wallet's bytes hash (SHA-256) to its key and the key has the prefix.</summary>
    public static bool Verified(string hash, byte[]? bytes, string prefix) =>
        bytes is not null && hash.StartsWith(prefix, StringComparison.Ordinal) && Convert.ToHexStringLower(SHA256.HashData(bytes)) == hash;

    /// <summary>
    /// All workers' view of one peer: latency weighted by calls, in-flight summed, instances merged. Sums are in
    /// doubles and capped: a thousand workers' reports at the largest counts must not overflow (Sum of longs throws).
    /// </summary>
    public static PeerView Merge(IEnumerable<PeerReport> reports)
    {
        var list = reports.Where(r => DashboardChecks.Usable(r) && (r.Calls > 0 || r.InFlight > 0)).ToList();
        var calls = list.Sum(r => (double)r.Calls);
        double Weighted(Func<PeerReport, double> value) => calls == 0 ? 0 : Math.Round(list.Sum(r => value(r) * r.Calls) / calls, 2);
        var instances = list
            .SelectMany(r => r.Instances)
            .GroupBy(i => i.Key)
            .Select(g => new PeerInstanceView(g.Key, Capped(g.Sum(i => (double)i.Value.Calls), DashboardChecks.MaxCount), g.Last().Value.Version))
            .OrderBy(i => i.Instance, StringComparer.Ordinal)
            .ToList();
        return new PeerView(Weighted(r => r.P50Ms), Weighted(r => r.P95Ms), (int)Capped(list.Sum(r => (double)r.InFlight), int.MaxValue), instances);
    }

    /// <summary>One line that names what dominates a worker's loop: its own pause, rng or hasher.</summary>
    public static string? Hint(IEnumerable<WorkerReport> reports, PeerView rng, PeerView hasher)
    {
        var delay = reports.Select(r => (double)r.DelayMs).DefaultIfEmpty(-1).Average();
        if (delay < 0 || rng.P50Ms + hasher.P50Ms <= 0)
        {
            return null;
        }

        var loop = delay + rng.P50Ms + hasher.P50Ms;
        if (loop < 5)
        {
            return $"Loops take about {loop:F1} ms with no pauses (fast profile): the machine's CPU is the limit, not one service.";
        }

        return (rng.P50Ms / loop, hasher.P50Ms / loop, delay / loop) switch
        {
            ( >= 0.5, _, _) => $"rng is the bottleneck: {rng.P50Ms:F0} ms of each {loop:F0} ms loop. Scale rng (or raise RNG_CONCURRENCY).",
            (_, >= 0.5, _) => $"hasher is the bottleneck: {hasher.P50Ms:F0} ms of each {loop:F0} ms loop. Scale hasher.",
            (_, _, >= 0.5) => $"Workers spend {delay:F0} ms of each {loop:F0} ms loop waiting (WORKER_DELAY_MS): add workers to mine faster.",
            _ => $"No single bottleneck: rng {rng.P50Ms:F0} ms, hasher {hasher.P50Ms:F0} ms, pause {delay:F0} ms per loop.",
        };
    }

    private static long Capped(double sum, long max) => sum >= max ? max : (long)sum;
}
