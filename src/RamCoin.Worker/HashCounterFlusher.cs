using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RamCoin.ServiceDefaults;
using StackExchange.Redis;

namespace RamCoin.Worker;

/// <summary>
/// Once a second, DockerCoins' <c>INCRBY hashes N</c> and its log line, plus this worker's own counts and the
/// coins found, in one MULTI/EXEC so the counter and the wallet move together.
/// Exactly once: every batch carries a sequence number, recorded in the same transaction in
/// <see cref="StoreKeys.WorkerFlushes"/>, and the transaction runs only if the previous number is the one
/// recorded. A batch whose reply was lost is retried unchanged; if the store already holds its number,
/// it was applied and is not applied again. On stop, a last flush.
/// </summary>
public sealed class HashCounterFlusher(
    StoreClient store,
    MiningStats stats,
    WorkerTelemetry telemetry,
    WorkerMetrics metrics,
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

    /// <summary>The sequence the store holds for this run, as far as this worker knows (0: none yet).</summary>
    private long _applied;

    public string InstanceId => _instanceId;

    /// <summary>This run's field in the flush ledger: instance and a per-process id, so restarts start afresh.</summary>
    public string RunKey => $"{_instanceId}/{_runId}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.FlushMs), time);
        try
        {
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

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (store.IsConnected)
        {
            await FlushAsync();
            await ForgetRunAsync();
            return;
        }

        // Waiting for a store that is down would overrun the stop deadline; say what is lost.
        var (hashes, coins) = stats.TakePending(int.MaxValue);
        hashes += _unconfirmed?.Hashes ?? 0;
        var coinCount = coins.Count + (_unconfirmed?.Coins.Count ?? 0);
        if (hashes > 0 || coinCount > 0)
        {
            logger.LogError("Store unreachable at shutdown: {Count} hashes and {Coins} coins were not written", hashes, coinCount);
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

            var (hashes, coins) = stats.TakePending(MaxCoinsPerBatch);
            logger.LogInformation("{Count} units of work done, updating hash counter", hashes);
            _unconfirmed = new FlushBatch(++_sequence, hashes, coins);
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
            var created = await WriteOnceAsync(batch);
            metrics.StoreWrites.Record(time.GetElapsedTime(started).TotalSeconds);
            stats.Confirm(batch.Hashes, batch.Coins.Count);
            _unconfirmed = null;
            if (created < batch.Coins.Count)
            {
                logger.LogInformation("We already had {Count} of those coins", batch.Coins.Count - created);
            }

            return true;
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

    /// <summary>Applies the batch unless the store already has it; answers how many coins were new.</summary>
    private async Task<int> WriteOnceAsync(FlushBatch batch)
    {
        var db = await store.GetDatabaseAsync();
        var transaction = db.CreateTransaction();
        transaction.AddCondition(_applied == 0
            ? Condition.HashNotExists(StoreKeys.WorkerFlushes, RunKey)
            : Condition.HashEqual(StoreKeys.WorkerFlushes, RunKey, _applied));
        _ = transaction.StringIncrementAsync(StoreKeys.Hashes, batch.Hashes);
        _ = transaction.HashIncrementAsync(StoreKeys.WorkerHashes, _instanceId, batch.Hashes);
        _ = transaction.HashSetAsync(StoreKeys.WorkerSeen, _instanceId, time.GetUtcNow().ToUnixTimeSeconds());
        _ = transaction.HashSetAsync(StoreKeys.WorkerFlushes, RunKey, batch.Sequence);
        _ = transaction.HashSetAsync(StoreKeys.WorkerTelemetry, _instanceId, Report());
        foreach (var coin in batch.Coins.TakeLast(StoreKeys.RecentCoinsKept))
        {
            _ = transaction.ListLeftPushAsync(StoreKeys.RecentCoins, JsonSerializer.Serialize(new RecentCoin(coin.Hash, coin.FoundAt, _instanceId), WorkerJsonContext.Default.RecentCoin));
        }

        if (batch.Coins.Count > 0)
        {
            _ = transaction.ListTrimAsync(StoreKeys.RecentCoins, 0, StoreKeys.RecentCoinsKept - 1);
        }

        var coinWrites = batch.Coins.Select(c => transaction.HashSetAsync(StoreKeys.Wallet, c.Hash, c.Bytes)).ToList();
        if (await transaction.ExecuteAsync())
        {
            _applied = batch.Sequence;
            return (await Task.WhenAll(coinWrites)).Count(created => created);
        }

        // The condition failed: either this batch was applied and its reply lost, or the store lost our ledger.
        var recorded = await db.HashGetAsync(StoreKeys.WorkerFlushes, RunKey);
        if (recorded.TryParse(out long sequence) && sequence == batch.Sequence)
        {
            _applied = sequence;
            logger.LogInformation("Batch {Sequence} was already applied (its reply was lost); not applying it twice", sequence);
            return batch.Coins.Count;
        }

        _applied = recorded.TryParse(out sequence) ? sequence : 0;
        throw new RedisException($"the store's flush ledger says {(recorded.IsNull ? "nothing" : recorded.ToString())} for this worker, not {batch.Sequence - 1}; retrying");
    }

    private string Report() => JsonSerializer.Serialize(
        new WorkerReport(
            identity.Version, liveOptions.CurrentValue.DelayMs, options.Value.Concurrency, time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0,
            telemetry.Rng.Snapshot(), telemetry.Hasher.Snapshot()),
        WorkerJsonContext.Default.WorkerReport);

    /// <summary>A clean stop removes this run's ledger entry: the next run has its own.</summary>
    private async Task ForgetRunAsync()
    {
        try
        {
            await (await store.GetDatabaseAsync()).HashDeleteAsync(StoreKeys.WorkerFlushes, RunKey);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            logger.LogWarning("Could not remove this run's flush ledger entry: {Reason}", ex.Message);
        }
    }
}
