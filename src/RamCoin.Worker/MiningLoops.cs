namespace RamCoin.Worker;

/// <summary>
/// WORKER_CONCURRENCY loops, each DockerCoins' <c>work_once</c>: wait, get 32 bytes from rng, hash them
/// with hasher, keep the hash as a coin when it meets the difficulty. A failed call is logged and the loop goes on.
/// </summary>
public sealed class MiningLoops(
    RngClient rng,
    HasherClient hasher,
    MiningStats stats,
    WorkerMetrics metrics,
    IOptionsMonitor<WorkerOptions> options,
    ILoggerFactory loggers,
    ILogger<MiningLoops> logger) : BackgroundService
{
    /// <summary>The log category of the coin lines, apart, so that a profile or a setting can quiet them alone.</summary>
    public const string CoinLog = "RamCoin.Worker.Coins";

    private readonly WorkerOptions _options = options.CurrentValue;
    private long _lastFailureLog = long.MinValue / 2;

    private readonly ILogger _coins = loggers.CreateLogger(CoinLog);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The peer calls take no token: stopping cancels them all at once instead.
        using var stop = stoppingToken.Register(() =>
        {
            rng.CancelPending();
            hasher.CancelPending();
        });
        await Task.WhenAll(Enumerable.Range(0, _options.Concurrency).Select(_ => Task.Run(() => LoopAsync(stoppingToken), CancellationToken.None)));
    }

    private async Task LoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await MineOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Whatever failed (timeout, refused connection, open circuit, a bad answer), the loop goes on:
                // no hash is counted for it, and a short pause spares a peer that is down.
                stats.RecordError();
                metrics.LoopErrors.Add(1, new KeyValuePair<string, object?>("kind", WorkerMetrics.KindOf(ex)));
                LogFailure(ex);
                if (!await PauseAsync(_options.ErrorBackoffMs, stoppingToken))
                {
                    return;
                }
            }
        }
    }

    private async Task MineOnceAsync(CancellationToken cancellationToken)
    {
        // Read each loop: WORKER_DELAY_MS and DIFFICULTY can change at run time (admin API).
        var current = options.CurrentValue;
        if (current.DelayMs > 0)
        {
            await Task.Delay(current.DelayMs, cancellationToken);
        }

        var prefix = current.Difficulty.ToLowerInvariant();

        // One trace per loop; the rng and hasher calls are its children (HttpClient instrumentation).
        using var activity = Telemetry.Worker.StartActivity("mine");
        var bytes = await rng.GetBytesAsync(32, CancellationToken.None);
        var hash = await hasher.HashAsync(bytes, CancellationToken.None);
        metrics.Hashes.Add(1);
        activity?.SetTag("ramcoin.coin", hash.StartsWith(prefix, StringComparison.Ordinal));
        if (hash.StartsWith(prefix, StringComparison.Ordinal))
        {
            metrics.Coins.Add(1);
            _coins.LogInformation("Coin found: {Prefix}...", hash[..8]);
            if (!stats.RecordHash(new Coin(hash, bytes, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0)))
            {
                logger.LogWarning("Coin {Prefix}... dropped: {Max} coins already wait for the store (WORKER_MAX_PENDING_COINS)", hash[..8], _options.MaxPendingCoins);
            }
        }
        else
        {
            stats.RecordHash(null);
        }
    }

    /// <summary>At most one line a second: with many loops and a peer down, every failure would flood the log.</summary>
    private void LogFailure(Exception ex)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastFailureLog);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastFailureLog, now, last) == last)
        {
            logger.LogWarning("Loop failed, going on ({Errors} failures so far): {Reason}", stats.Errors, ex.Message);
        }
    }

    private static async Task<bool> PauseAsync(int milliseconds, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(milliseconds, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
