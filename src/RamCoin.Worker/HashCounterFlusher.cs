namespace RamCoin.Worker;

/// <summary>
/// Once a second, DockerCoins' <c>INCRBY hashes N</c> and its log line, plus this worker's own counts and the
/// coins found, in one MULTI/EXEC so the counter and the wallet move together.
/// Exactly once (<see cref="ExactlyOnceBatchWriter"/>): a batch that did not land is kept and written again unchanged
/// before anything newer. On stop, a last flush.
/// Every key is untrusted input: one that holds the wrong type or garbage makes its own command fail inside
/// the transaction while the others apply, so each command's result is checked and what did not land stays
/// in memory for the next batch (<see cref="StoreKeyWarnings"/> says which key, once a minute).
/// </summary>
public sealed class HashCounterFlusher(
    StoreClient store,
    MiningStats stats,
    WorkerTelemetry telemetry,
    WorkerMetrics metrics,
    StoreKeyWarnings warnings,
    IOptions<WorkerOptions> options,
    IOptionsMonitor<WorkerOptions> liveOptions,
    ServiceIdentity identity,
    TimeProvider time,
    ILogger<HashCounterFlusher> logger) : BackgroundService
{
    /// <summary>Coins in one transaction at most, so that a long outage's backlog goes out in bounded steps.</summary>
    public const int MaxCoinsPerBatch = 5000;

    private readonly string _instanceId = options.Value.InstanceIdOr(identity.HostName);
    private readonly string _runId = Guid.NewGuid().ToString("N");
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private FlushBatch? _unconfirmed;
    private long _sequence;
    private ExactlyOnceBatchWriter? _writer;

    /// <summary>Hashes that a key of the wrong type refused (<c>hashes</c>, this worker's field): they go out with the next batch.</summary>
    private long _owedCounter;
    private long _owedInstance;

    /// <summary>Coins the wallet refused (it was not a hash): first in the next batch.</summary>
    private List<Coin> _owedCoins = [];

    public string InstanceId => _instanceId;

    /// <summary>Made on first use: it writes the report, which reads the options and telemetry of this flusher.</summary>
    private ExactlyOnceBatchWriter Writer => _writer ??= new(store, warnings, time, logger, _instanceId, RunKey, Report);

    /// <summary>This run's field in the flush ledger: instance and a per-process id, so restarts start afresh.</summary>
    public string RunKey => $"{_instanceId}/{_runId}";

    /// <summary>Hashes computed that <c>hashes</c> refused so far and that wait for it to hold an integer again.</summary>
    public long HashesOwed => Interlocked.Read(ref _owedCounter) + (_unconfirmed?.Hashes ?? 0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromMilliseconds(options.Value.FlushMs);
        try
        {
            // A fresh start shows at once: the first hashes go out as soon as there are some (within one period),
            // not a whole period after the start; from then on once a period, as DockerCoins' worker does.
            await FirstHashesAsync(period, stoppingToken);
            await FlushAsync();
            using var timer = new PeriodicTimer(period, time);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync does the last flush.
        }
    }

    /// <summary>Waits until a hash is pending or <paramref name="period"/> has passed, looking every 50 ms at most.</summary>
    private async Task FirstHashesAsync(TimeSpan period, CancellationToken stoppingToken)
    {
        var step = TimeSpan.FromMilliseconds(Math.Min(50, period.TotalMilliseconds));
        for (var waited = TimeSpan.Zero; stats.HashesPending == 0 && waited < period; waited += step)
        {
            await Task.Delay(step, time, stoppingToken);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);

        // Waiting for a store known to be down would overrun the stop deadline: a connected store, or one not tried yet,
        // gets a last flush (each call bounded by StoreClient.WithinDeadline).
        if (store.MayBeReachable)
        {
            await FlushAsync();
            if (_unconfirmed is null)
            {
                await ForgetRunAsync();
            }
        }

        // The loops have stopped: whatever is pending now is lost (the store is down, or a key still refuses writes).
        var (hashes, coins) = (stats.HashesPending, stats.CoinsPending);
        if (hashes > 0 || coins > 0)
        {
            logger.LogError("Store unreachable or refusing writes at shutdown: {Count} hashes and {Coins} coins were not written", hashes, coins);
            // A failed stop: the host reports it, and the process exits non-zero (ServiceProgram, the launcher).
            throw new WorkLostException($"{hashes} hashes and {coins} coins were not written (the store was unreachable or refused writes)");
        }
    }

    /// <summary>Writes the unconfirmed batch again if there is one, then what is pending; failures stay for the next flush.</summary>
    public async Task FlushAsync()
    {
        await _flushing.WaitAsync();
        try
        {
            if (_unconfirmed is not null && !await TryWriteAsync(_unconfirmed))
            {
                return;
            }

            var owedCoins = _owedCoins;
            _owedCoins = [];
            var (hashes, coins) = stats.TakePending(MaxCoinsPerBatch - owedCoins.Count);
            logger.LogInformation("{Count} units of work done, updating hash counter", hashes);
            _unconfirmed = new FlushBatch(
                ++_sequence,
                hashes + Interlocked.Exchange(ref _owedCounter, 0),
                hashes + Interlocked.Exchange(ref _owedInstance, 0),
                [.. owedCoins, .. coins]);
            Writer.StartBatch();
            await TryWriteAsync(_unconfirmed);
        }
        finally
        {
            _flushing.Release();
        }
    }

    private async Task<bool> TryWriteAsync(FlushBatch batch)
    {
        using var activity = Telemetry.Worker.StartActivity("store.flush");
        activity?.SetTag("ramcoin.batch", batch.Sequence);
        activity?.SetTag("ramcoin.hashes", batch.Hashes);
        var started = time.GetTimestamp();
        try
        {
            var written = await Writer.WriteAsync(batch);
            metrics.StoreWrites.Record(time.GetElapsedTime(started).TotalSeconds);
            _unconfirmed = null;
            Settle(batch, written);
            return true;
        }
        catch (UnusableKeyException ex)
        {
            // Nothing of the batch was applied: it stays, and so does everything computed after it.
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Message);
            stats.RecordError();
            warnings.Warn(ex.Key, $"{ex.Message}; keeping batch {batch.Sequence} ({batch.Hashes} hashes, {batch.Coins.Count} coins) and what follows in memory");
            return false;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, ex.Message);
            logger.LogWarning(
                "Store write failed, keeping batch {Sequence} ({Count} hashes, {Coins} coins) for the next try: {Reason}",
                batch.Sequence, batch.Hashes, batch.Coins.Count, ex.Message);
            return false;
        }
    }

    /// <summary>Counts what landed, keeps what a key refused for the next batch.</summary>
    private void Settle(FlushBatch batch, BatchResult result)
    {
        var refused = false;
        if (result.CounterFailure is { } counter)
        {
            // hashes holds a hash, a list or a non-integer (or would overflow): nothing can be added to it. The count
            // waits in memory (hashesPending) and goes out with the first batch after the key holds an integer again.
            Interlocked.Add(ref _owedCounter, batch.Hashes);
            warnings.Warn(StoreKeys.Hashes, $"cannot add to it ({counter}); {HashesOwed} hashes wait in memory until it holds an integer (or is deleted)");
            refused = true;
        }

        if (result.InstanceFailure is { } instance)
        {
            Interlocked.Add(ref _owedInstance, batch.InstanceHashes);
            warnings.Warn(StoreKeys.WorkerHashes, $"cannot add to this worker's field ({instance}); its count waits in memory");
            refused = true;
        }

        if (result.RefusedCoins.Count > 0)
        {
            _owedCoins.AddRange(result.RefusedCoins);
            warnings.Warn(StoreKeys.Wallet, $"refused {result.RefusedCoins.Count} coins ({result.CoinFailure}); {_owedCoins.Count} coins wait in memory until it is a hash again");
            refused = true;
        }

        foreach (var (key, failure) in result.OtherFailures)
        {
            // Overwritten every flush (seen, telemetry) or kept for display only (recent coins): nothing to keep.
            warnings.Warn(key, $"cannot write it ({failure}); the dashboard misses this worker's entry there");
        }

        if (refused)
        {
            stats.RecordError();
        }

        var coinsWritten = batch.Coins.Count - result.RefusedCoins.Count;
        stats.Confirm(result.CounterFailure is null ? batch.Hashes : 0, coinsWritten);
        if (result.NewCoins < coinsWritten)
        {
            logger.LogInformation("We already had {Count} of those coins", coinsWritten - result.NewCoins);
        }
    }

    private string Report() => JsonSerializer.Serialize(
        new WorkerReport(
            identity.Version, liveOptions.CurrentValue.DelayMs, options.Value.Concurrency, time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0,
            telemetry.Rng.Snapshot(), telemetry.Hasher.Snapshot()),
        StoreJsonContext.Default.WorkerReport);

    /// <summary>A clean stop removes this run's ledger entry: the next run has its own.</summary>
    private async Task ForgetRunAsync()
    {
        try
        {
            await store.WithinDeadline((await store.GetDatabaseAsync()).HashDeleteAsync(StoreKeys.WorkerFlushes, RunKey));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            logger.LogWarning("Could not remove this run's flush ledger entry: {Reason}", ex.Message);
        }
    }

    /// <summary>Computed work that the last flush at stop could not write.</summary>
    public sealed class WorkLostException(string message) : Exception(message);
}
