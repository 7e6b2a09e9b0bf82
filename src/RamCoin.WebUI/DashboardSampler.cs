namespace RamCoin.WebUI;

/// <summary>
/// Once a second: reads the store (<see cref="DashboardStoreReader"/>, within a budget), computes the dashboard
/// (<see cref="DashboardCalculator"/>), keeps the charts' history and the latest JSON for polls, and hands the
/// event frame to the live streams (<see cref="DashboardBroadcaster"/>).
/// </summary>
public sealed class DashboardSampler(
    DashboardStoreReader reader,
    DashboardBroadcaster broadcaster,
    TimelineRecorder timeline,
    ServiceIdentity identity,
    IOptions<WebUIOptions> options,
    TimeProvider time,
    ILogger<DashboardSampler> logger) : BackgroundService
{
    /// <summary>How long a tick waits for the store; a read that answers later is dropped.</summary>
    public static readonly TimeSpan ReadBudget = TimeSpan.FromMilliseconds(800);

    private readonly DashboardCalculator _calculator = new(DashboardCalculator.Prefix(options.Value.Difficulty), Unix(time));
    private readonly Queue<Dashboard> _chart = new();
    private Published? _latest;

    /// <summary>A dashboard and its JSON, made once for every stream and poll.</summary>
    private sealed record Published(Dashboard Dashboard, string Json);

    public Dashboard? Latest => Volatile.Read(ref _latest)?.Dashboard;

    public string? LatestJson => Volatile.Read(ref _latest)?.Json;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
            do
            {
                try
                {
                    var (dashboard, reports) = await SampleAsync();
                    Publish(dashboard with { Events = timeline.Record(dashboard, reports) });
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Whatever a tick meets, the next one tries again: the web UI keeps serving what it had.
                    logger.LogError(ex, "Dashboard sample failed; the next one runs in a second.");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        finally
        {
            // The streams end with the sampler, so that the web UI's stop does not wait for them.
            broadcaster.Close();
        }
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
                [.. _chart.Select(d => d.Rng.InFlight)], [.. _chart.Select(d => d.Hasher.InFlight)])
            {
                Events = timeline.Events(),
            };
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
        Volatile.Write(ref _latest, new Published(dashboard, json));
        broadcaster.Publish(System.Text.Encoding.UTF8.GetBytes($"event: dashboard\ndata: {json}\n\n"));
    }

    private async Task<(Dashboard Dashboard, IEnumerable<WorkerReport> Reports)> SampleAsync()
    {
        var now = Unix(time);
        var webui = new ServiceVersion(identity.HostName, identity.Version);
        // The reader touches none of the calculator's state: a read that answers after the budget changes nothing.
        var read = reader.ReadAsync(now);
        StoreSample sample;
        try
        {
            sample = await read.WaitAsync(ReadBudget);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _ = read.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
            logger.LogDebug("Dashboard sample failed: {Reason}", ex.Message);
            return (_calculator.Unavailable(now, webui), []);
        }

        return (_calculator.Compute(sample, now, webui), sample.Reports.Values);
    }

    private static double Unix(TimeProvider time) => time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
}
