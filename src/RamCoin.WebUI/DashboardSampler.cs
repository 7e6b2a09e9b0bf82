using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RamCoin.ServiceDefaults;
using StackExchange.Redis;

namespace RamCoin.WebUI;

/// <summary>
/// Reads the store once a second and computes the dashboard: rates over a sliding window (steady, unlike a
/// rate from two polls), per-worker rates, what the workers measured of rng and hasher, and the latest coins
/// with their verification. Pages receive the result by Server-Sent Events or by polling.
/// </summary>
public sealed class DashboardSampler(
    StoreClient store,
    ServiceIdentity identity,
    IConfiguration configuration,
    TimeProvider time,
    ILogger<DashboardSampler> logger) : BackgroundService
{
    /// <summary>The rate is the counter's growth over this window.</summary>
    public const double WindowSeconds = 10;

    /// <summary>Workers not heard from for this long are gone (an old pod, a stopped process).</summary>
    private const double WorkerGoneSeconds = 30;

    private readonly string _prefix = (configuration["DIFFICULTY"] ?? "0").Trim().ToLowerInvariant();
    private readonly double _started = Unix(time);
    private readonly Queue<(double At, long Hashes, long Coins, Dictionary<string, long> Workers)> _history = new();
    private readonly Queue<Dashboard> _chart = new();
    private TaskCompletionSource<Dashboard> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Dashboard? _latest;
    private double? _lastFresh;

    public Dashboard? Latest => Volatile.Read(ref _latest);

    /// <summary>The current dashboard at once, then each new one as it is computed.</summary>
    public async IAsyncEnumerable<Dashboard> StreamAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var next = Volatile.Read(ref _next).Task;
        if (Latest is { } latest)
        {
            yield return latest;
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            var dashboard = await next.WaitAsync(cancellationToken);
            next = Volatile.Read(ref _next).Task;
            yield return dashboard;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        do
        {
            Publish(await SampleAsync());
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>A copy of the charts' history (five minutes at one point a second).</summary>
    public DashboardHistory History()
    {
        lock (_chart)
        {
            return new DashboardHistory(
                [.. _chart.Select(d => d.Now)], [.. _chart.Select(d => d.Stale ? (double?)null : d.Rate)],
                [.. _chart.Select(d => d.Rng.P50Ms)], [.. _chart.Select(d => d.Rng.P95Ms)],
                [.. _chart.Select(d => d.Hasher.P50Ms)], [.. _chart.Select(d => d.Hasher.P95Ms)],
                [.. _chart.Select(d => d.Rng.InFlight)], [.. _chart.Select(d => d.Hasher.InFlight)]);
        }
    }

    private void Publish(Dashboard dashboard)
    {
        lock (_chart)
        {
            _chart.Enqueue(dashboard);
            if (_chart.Count > 300)
            {
                _chart.Dequeue();
            }
        }

        Volatile.Write(ref _latest, dashboard);
        Interlocked.Exchange(ref _next, new TaskCompletionSource<Dashboard>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(dashboard);
    }

    private async Task<Dashboard> SampleAsync()
    {
        var now = Unix(time);
        try
        {
            var dashboard = await ReadAsync(now).WaitAsync(TimeSpan.FromMilliseconds(800));
            _lastFresh = now;
            return dashboard;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            logger.LogDebug("Dashboard sample failed: {Reason}", ex.Message);
            var last = Latest;
            var webui = new ServiceVersion(identity.HostName, identity.Version);
            return last is null
                ? new Dashboard(now, true, null, now - _started, 0, 0, 0, 0, webui, [], EmptyPeer, EmptyPeer, null, [])
                : last with { Now = now, Stale = true, StaleSince = _lastFresh, UptimeSeconds = now - _started, WebUI = webui };
        }
    }

    private static readonly PeerView EmptyPeer = new(0, 0, 0, []);

    private async Task<Dashboard> ReadAsync(double now)
    {
        var db = await store.GetDatabaseAsync();
        var hashesTask = db.StringGetAsync(StoreKeys.Hashes);
        var coinsTask = db.HashLengthAsync(StoreKeys.Wallet);
        var workerHashesTask = db.HashGetAllAsync(StoreKeys.WorkerHashes);
        var seenTask = db.HashGetAllAsync(StoreKeys.WorkerSeen);
        var telemetryTask = db.HashGetAllAsync(StoreKeys.WorkerTelemetry);
        var recentTask = db.ListRangeAsync(StoreKeys.RecentCoins, 0, StoreKeys.RecentCoinsKept - 1);
        await Task.WhenAll(hashesTask, coinsTask, workerHashesTask, seenTask, telemetryTask, recentTask);

        var hashes = hashesTask.Result.TryParse(out long h) ? h : 0;
        var coins = coinsTask.Result;
        var workerTotals = workerHashesTask.Result.ToDictionary(e => e.Name.ToString(), e => e.Value.TryParse(out long v) ? v : 0);
        var seen = seenTask.Result.ToDictionary(e => e.Name.ToString(), e => e.Value.TryParse(out double v) ? v : 0);
        var reports = telemetryTask.Result
            .Select(e => (Instance: e.Name.ToString(), Report: Parse(e.Value)))
            .Where(r => r.Report is not null && seen.GetValueOrDefault(r.Instance) >= now - WorkerGoneSeconds)
            .ToDictionary(r => r.Instance, r => r.Report!);
        var recent = await VerifyAsync(db, recentTask.Result);

        _history.Enqueue((now, hashes, coins, workerTotals));
        while (_history.Count > 2 && now - _history.Peek().At > 60)
        {
            _history.Dequeue();
        }

        var windowStart = _history.FirstOrDefault(s => now - s.At <= WindowSeconds + 0.5);
        var span = now - windowStart.At;
        var rate = span > 0 ? Math.Max(0, (hashes - windowStart.Hashes) / span) : 0;
        var oldest = _history.Peek();
        var coinsPerMinute = now - oldest.At > 0 ? Math.Max(0, (coins - oldest.Coins) / (now - oldest.At) * 60) : 0;

        var workers = workerTotals
            .Where(w => seen.GetValueOrDefault(w.Key) >= now - WorkerGoneSeconds)
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
        return new Dashboard(
            now, false, null, now - _started, hashes, coins, Math.Round(rate, 2), Math.Round(coinsPerMinute, 1),
            new ServiceVersion(identity.HostName, identity.Version), workers, rng, hasher, Hint(reports.Values, rng, hasher), recent);
    }

    /// <summary>A worker's rate over the window, from the oldest sample in it that knows the worker (a new pod has none older).</summary>
    private double WorkerRate(string instance, long total, double now)
    {
        foreach (var sample in _history)
        {
            if (now - sample.At <= WindowSeconds + 0.5 && sample.At < now && sample.Workers.TryGetValue(instance, out var then))
            {
                return Math.Round(Math.Max(0, (total - then) / (now - sample.At)), 2);
            }
        }

        return 0;
    }

    private async Task<List<CoinView>> VerifyAsync(IDatabase db, RedisValue[] entries)
    {
        var coins = entries.Select(e => JsonSerializer.Deserialize(e.ToString(), WebUIJsonContext.Default.RecentCoinView)).OfType<RecentCoinView>().ToList();
        if (coins.Count == 0)
        {
            return [];
        }

        var bytes = await db.HashGetAsync(StoreKeys.Wallet, [.. coins.Select(c => (RedisValue)c.Hash)]);
        return [.. coins.Select((c, i) => new CoinView(c.Hash, c.At, c.Worker,
            !bytes[i].IsNull && c.Hash.StartsWith(_prefix, StringComparison.Ordinal)
            && Convert.ToHexStringLower(SHA256.HashData((byte[])bytes[i]!)) == c.Hash))];
    }

    /// <summary>All workers' view of one peer: latency weighted by calls, in-flight summed, instances merged.</summary>
    private static PeerView Merge(IEnumerable<PeerReportView> reports)
    {
        var list = reports.Where(r => r.Calls > 0 || r.InFlight > 0).ToList();
        var calls = list.Sum(r => r.Calls);
        double Weighted(Func<PeerReportView, double> value) => calls == 0 ? 0 : Math.Round(list.Sum(r => value(r) * r.Calls) / calls, 2);
        var instances = list
            .SelectMany(r => r.Instances)
            .GroupBy(i => i.Key)
            .Select(g => new PeerInstanceView(g.Key, g.Sum(i => i.Value.Calls), g.Last().Value.Version))
            .OrderBy(i => i.Instance, StringComparer.Ordinal)
            .ToList();
        return new PeerView(Weighted(r => r.P50Ms), Weighted(r => r.P95Ms), list.Sum(r => r.InFlight), instances);
    }

    /// <summary>One line that names what dominates a worker's loop: its own pause, rng or hasher.</summary>
    private static string? Hint(IEnumerable<WorkerReportView> reports, PeerView rng, PeerView hasher)
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

    private static WorkerReportView? Parse(RedisValue value)
    {
        try
        {
            return JsonSerializer.Deserialize(value.ToString(), WebUIJsonContext.Default.WorkerReportView);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static double Unix(TimeProvider time) => time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
}
