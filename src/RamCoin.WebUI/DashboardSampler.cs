using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RamCoin.Hosting;
using RamCoin.StoreContract;
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
    StoreKeyWarnings warnings,
    ILogger<DashboardSampler> logger) : BackgroundService
{
    /// <summary>The rate is the counter's growth over this window.</summary>
    public const double WindowSeconds = 10;

    /// <summary>Workers not heard from for this long are gone (an old pod, a stopped process).</summary>
    private const double WorkerGoneSeconds = 30;

    /// <summary>Longest store value parsed as JSON (a worker's telemetry is about 1 KB); longer ones are skipped.</summary>
    private const int MaxJsonLength = 64 * 1024;

    private readonly string _prefix = (configuration["DIFFICULTY"] ?? "0").Trim().ToLowerInvariant();
    private readonly double _started = Unix(time);
    private readonly Queue<(double At, long Hashes, long Coins, Dictionary<string, long> Workers)> _history = new();
    private readonly Queue<Dashboard> _chart = new();
    private TaskCompletionSource<Published> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Published? _latest;
    private double? _lastFresh;
    private int _viewers;

    /// <summary>A dashboard, its JSON and its Server-Sent Events frame, each made once for every stream and poll.</summary>
    public sealed record Published(Dashboard Dashboard, string Json, byte[] Frame);

    public Dashboard? Latest => Volatile.Read(ref _latest)?.Dashboard;

    public string? LatestJson => Volatile.Read(ref _latest)?.Json;

    /// <summary>Open <c>/events</c> streams of this web UI.</summary>
    public int Viewers => Volatile.Read(ref _viewers);

    public bool TryAddViewer(int max)
    {
        if (Interlocked.Increment(ref _viewers) <= max)
        {
            return true;
        }

        Interlocked.Decrement(ref _viewers);
        return false;
    }

    public void RemoveViewer() => Interlocked.Decrement(ref _viewers);

    /// <summary>The current dashboard's event frame at once, then each new one as it is computed.</summary>
    public async IAsyncEnumerable<byte[]> FramesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var next = Volatile.Read(ref _next).Task;
        if (Volatile.Read(ref _latest) is { } latest)
        {
            yield return latest.Frame;
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            var published = await next.WaitAsync(cancellationToken);
            next = Volatile.Read(ref _next).Task;
            yield return published.Frame;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        do
        {
            try
            {
                Publish(await SampleAsync());
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Whatever a tick meets, the next one tries again: the web UI keeps serving what it had.
                logger.LogError(ex, "Dashboard sample failed; the next one runs in a second.");
            }
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

        // One "dashboard" event (the JSON has no line breaks, so it is one data line), encoded once for every stream.
        var json = JsonSerializer.Serialize(dashboard, WebUIJsonContext.Default.Dashboard);
        var published = new Published(dashboard, json, System.Text.Encoding.UTF8.GetBytes($"event: dashboard\ndata: {json}\n\n"));
        Volatile.Write(ref _latest, published);
        Interlocked.Exchange(ref _next, new TaskCompletionSource<Published>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(published);
    }

    private async Task<Dashboard> SampleAsync()
    {
        var now = Unix(time);
        var read = ReadStoreAsync(now);
        StoreSample sample;
        try
        {
            sample = await read.WaitAsync(TimeSpan.FromMilliseconds(800));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // A read that answers after the budget is dropped: only this method, once a tick, touches the history.
            _ = read.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
            logger.LogDebug("Dashboard sample failed: {Reason}", ex.Message);
            var last = Latest;
            var webui = new ServiceVersion(identity.HostName, identity.Version);
            return last is null
                ? new Dashboard(now, true, null, now - _started, 0, 0, 0, 0, webui, [], EmptyPeer, EmptyPeer, null, [])
                : last with { Now = now, Stale = true, StaleSince = _lastFresh, UptimeSeconds = now - _started, WebUI = webui };
        }

        _lastFresh = now;
        return Compute(sample, now);
    }

    private static readonly PeerView EmptyPeer = new(0, 0, 0, []);

    /// <summary>What one tick read, already checked: values it could not use are left out (null: the key was unusable).</summary>
    private sealed record StoreSample(
        long? Hashes, long? Coins, Dictionary<string, long> WorkerTotals, Dictionary<string, double> Seen,
        Dictionary<string, WorkerReport> Reports, List<CoinView> Recent);

    /// <summary>Reads and checks the store's keys; touches no state of the sampler (it may finish after the budget).</summary>
    private async Task<StoreSample> ReadStoreAsync(double now)
    {
        var db = await store.GetDatabaseAsync();
        var hashesTask = Value(db.StringGetAsync(StoreKeys.Hashes), StoreKeys.Hashes);
        var coinsTask = Value(db.HashLengthAsync(StoreKeys.Wallet), StoreKeys.Wallet);
        var workerHashesTask = Key(db.HashGetAllAsync(StoreKeys.WorkerHashes), StoreKeys.WorkerHashes);
        var seenTask = Key(db.HashGetAllAsync(StoreKeys.WorkerSeen), StoreKeys.WorkerSeen);
        var recentTask = Key(db.ListRangeAsync(StoreKeys.RecentCoins, 0, StoreKeys.RecentCoinsKept - 1), StoreKeys.RecentCoins);
        await Task.WhenAll(hashesTask, coinsTask, workerHashesTask, seenTask, recentTask);

        long? hashes = null;
        if (hashesTask.Result is { } h)
        {
            if (h.IsNull)
            {
                hashes = 0;
            }
            else if (h.TryParse(out long value) && value >= 0)
            {
                hashes = value;
            }
            else
            {
                warnings.Warn(StoreKeys.Hashes, "not a whole number; skipped");
            }
        }

        var workerTotals = Entries<long>(workerHashesTask.Result, StoreKeys.WorkerHashes, v => v.TryParse(out long n) && n is >= 0 and <= DashboardChecks.MaxCount ? n : null);
        // Seen in the future (more than a clock's drift) or before 1970 is not a time a worker wrote.
        var seen = Entries<double>(seenTask.Result, StoreKeys.WorkerSeen, v => v.TryParse(out double t) && double.IsFinite(t) && t > 0 && t < now + 300 ? t : (double?)null);
        // Only the telemetry of workers seen lately is read and parsed: departed workers' entries cost nothing.
        var recentWorkers = seen.Where(w => w.Value >= now - WorkerGoneSeconds).Select(w => (RedisValue)w.Key).ToArray();
        var reports = new Dictionary<string, WorkerReport>(StringComparer.Ordinal);
        if (recentWorkers.Length > 0 && await Key(db.HashGetAsync(StoreKeys.WorkerTelemetry, recentWorkers), StoreKeys.WorkerTelemetry) is { } telemetry)
        {
            for (var i = 0; i < recentWorkers.Length; i++)
            {
                if (!telemetry[i].IsNull && ParseJson(telemetry[i], StoreJsonContext.Default.WorkerReport, StoreKeys.WorkerTelemetry) is { } report)
                {
                    if (DashboardChecks.Usable(report))
                    {
                        reports[recentWorkers[i].ToString()] = report;
                    }
                    else
                    {
                        warnings.Warn(StoreKeys.WorkerTelemetry, "a report with missing fields or numbers out of range; skipped");
                    }
                }
            }
        }

        return new StoreSample(hashes, coinsTask.Result, workerTotals, seen, reports, await VerifyAsync(db, recentTask.Result ?? []));
    }

    /// <summary>A key's reply, or null (warned) when the key holds another type than ours: a wrong type is not an outage.</summary>
    private async Task<T?> Key<T>(Task<T> read, string key)
        where T : class
    {
        try
        {
            return await read;
        }
        catch (RedisServerException ex)
        {
            warnings.Warn(key, ex.Message + "; skipped");
            return null;
        }
    }

    private async Task<T?> Value<T>(Task<T> read, string key)
        where T : struct
    {
        try
        {
            return await read;
        }
        catch (RedisServerException ex)
        {
            warnings.Warn(key, ex.Message + "; skipped");
            return default;
        }
    }

    private Dictionary<string, T> Entries<T>(HashEntry[]? entries, string key, Func<RedisValue, T?> parse)
        where T : struct
    {
        var result = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var entry in entries ?? [])
        {
            var name = entry.Name.ToString();
            if (DashboardChecks.Name(name) && parse(entry.Value) is { } value)
            {
                result[name] = value;
            }
            else
            {
                warnings.Warn(key, $"field '{DashboardChecks.Shown(name)}' holds a value out of range; skipped");
            }
        }

        return result;
    }

    private T? ParseJson<T>(RedisValue value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, string key)
        where T : class
    {
        try
        {
            if (value.Length() <= MaxJsonLength && JsonSerializer.Deserialize(value.ToString(), type) is { } parsed)
            {
                return parsed;
            }
        }
        catch (JsonException)
        {
        }

        warnings.Warn(key, "not the JSON a worker writes; skipped");
        return null;
    }

    /// <summary>The dashboard from this tick's sample and the window's history (kept here, one tick at a time).</summary>
    private Dashboard Compute(StoreSample sample, double now)
    {
        // A counter the tick could not use counts as unchanged, so the rate does not jump.
        var previous = _history.Count > 0 ? _history.Last() : default;
        var hashes = sample.Hashes ?? previous.Hashes;
        var coins = sample.Coins ?? previous.Coins;
        var workerTotals = sample.WorkerTotals;
        var seen = sample.Seen;
        var reports = sample.Reports;

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
            new ServiceVersion(identity.HostName, identity.Version), workers, rng, hasher, Hint(reports.Values, rng, hasher), sample.Recent);
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
        var coins = new List<RecentCoin>();
        foreach (var entry in entries)
        {
            if (ParseJson(entry, StoreJsonContext.Default.RecentCoin, StoreKeys.RecentCoins) is { } coin)
            {
                if (DashboardChecks.Usable(coin))
                {
                    coins.Add(coin);
                }
                else
                {
                    warnings.Warn(StoreKeys.RecentCoins, "a coin without a 64-digit hex hash, a time or a worker; skipped");
                }
            }
        }

        if (coins.Count == 0)
        {
            return [];
        }

        var bytes = await Key(db.HashGetAsync(StoreKeys.Wallet, [.. coins.Select(c => (RedisValue)c.Hash)]), StoreKeys.Wallet) ?? new RedisValue[coins.Count];
        return [.. coins.Select((c, i) => new CoinView(c.Hash, c.At, c.Worker,
            !bytes[i].IsNull && c.Hash.StartsWith(_prefix, StringComparison.Ordinal)
            && Convert.ToHexStringLower(SHA256.HashData((byte[])bytes[i]!)) == c.Hash))];
    }

    /// <summary>All workers' view of one peer: latency weighted by calls, in-flight summed, instances merged.</summary>
    private static PeerView Merge(IEnumerable<PeerReport> reports)
    {
        var list = reports.Where(r => r.Calls > 0 || r.InFlight > 0).ToList();
        var calls = list.Sum(r => r.Calls);
        double Weighted(Func<PeerReport, double> value) => calls == 0 ? 0 : Math.Round(list.Sum(r => value(r) * r.Calls) / calls, 2);
        var instances = list
            .SelectMany(r => r.Instances)
            .GroupBy(i => i.Key)
            .Select(g => new PeerInstanceView(g.Key, g.Sum(i => i.Value.Calls), g.Last().Value.Version))
            .OrderBy(i => i.Instance, StringComparer.Ordinal)
            .ToList();
        return new PeerView(Weighted(r => r.P50Ms), Weighted(r => r.P95Ms), list.Sum(r => r.InFlight), instances);
    }

    /// <summary>One line that names what dominates a worker's loop: its own pause, rng or hasher.</summary>
    private static string? Hint(IEnumerable<WorkerReport> reports, PeerView rng, PeerView hasher)
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

    private static double Unix(TimeProvider time) => time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
}
