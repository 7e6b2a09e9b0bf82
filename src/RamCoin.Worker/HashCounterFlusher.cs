namespace RamCoin.Worker;

/// <summary>
/// Once a second, DockerCoins' <c>INCRBY hashes N</c> and its log line, plus this worker's own counts and the
/// coins found, in one MULTI/EXEC so the counter and the wallet move together.
/// Exactly once: every batch carries a sequence number and a random id, recorded in the same transaction in
/// <see cref="StoreKeys.WorkerFlushes"/>, and the transaction runs only if the previous batch's entry is the one
/// recorded. A batch whose reply was lost is retried unchanged; if the store already holds its entry (its id, which
/// no other client can know), it was applied and is not applied again. On stop, a last flush.
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

    /// <summary>Immediate retries of a batch whose EXEC another worker's write to the shared ledger aborted.</summary>
    private const int MaxConflictRetries = 3;

    private readonly string _instanceId = options.Value.InstanceIdOr(identity.HostName);
    private readonly string _runId = Guid.NewGuid().ToString("N");
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private FlushBatch? _unconfirmed;
    private long _sequence;

    /// <summary>
    /// True once an EXEC of the unconfirmed batch went out without an answer (a timeout, a cut connection): the
    /// store may have applied it. Cleared when the next batch starts.
    /// </summary>
    private bool _unconfirmedInDoubt;

    /// <summary>What the store's ledger holds for this run, as far as this worker knows (null: nothing yet).</summary>
    private RedisValue _ledger = RedisValue.Null;

    /// <summary>Hashes that a key of the wrong type refused (<c>hashes</c>, this worker's field): they go out with the next batch.</summary>
    private long _owedCounter;
    private long _owedInstance;

    /// <summary>Coins the wallet refused (it was not a hash): first in the next batch.</summary>
    private List<Coin> _owedCoins = [];

    public string InstanceId => _instanceId;

    /// <summary>This run's field in the flush ledger: instance and a per-process id, so restarts start afresh.</summary>
    public string RunKey => $"{_instanceId}/{_runId}";

    /// <summary>Hashes computed that <c>hashes</c> refused so far and that wait for it to hold an integer again.</summary>
    public long HashesOwed => Interlocked.Read(ref _owedCounter) + (_unconfirmed?.Hashes ?? 0);

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

        // Waiting for a store that is down would overrun the stop deadline: only a connected store gets a last flush.
        if (store.IsConnected)
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
            // A failed stop: the host reports it, and the process exits non-zero (ServiceMain, the launcher).
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
            _unconfirmedInDoubt = false;
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
            var written = await WriteOnceAsync(batch);
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

    /// <summary>Applies the batch unless the store already has it; says what each key did with its part.</summary>
    private async Task<BatchResult> WriteOnceAsync(FlushBatch batch, int attempt = 0)
    {
        var db = await store.GetDatabaseAsync();
        var transaction = db.CreateTransaction();
        transaction.AddCondition(_ledger.IsNull
            ? Condition.HashNotExists(StoreKeys.WorkerFlushes, RunKey)
            : Condition.HashEqual(StoreKeys.WorkerFlushes, RunKey, _ledger));
        var counter = transaction.StringIncrementAsync(StoreKeys.Hashes, batch.Hashes);
        var instance = transaction.HashIncrementAsync(StoreKeys.WorkerHashes, _instanceId, batch.InstanceHashes);
        var others = new List<(string Key, Task Write)>
        {
            (StoreKeys.WorkerSeen, transaction.HashSetAsync(StoreKeys.WorkerSeen, _instanceId, time.GetUtcNow().ToUnixTimeSeconds())),
            (StoreKeys.WorkerFlushes, transaction.HashSetAsync(StoreKeys.WorkerFlushes, RunKey, batch.LedgerEntry)),
            (StoreKeys.WorkerTelemetry, transaction.HashSetAsync(StoreKeys.WorkerTelemetry, _instanceId, Report())),
        };
        foreach (var coin in batch.Coins.TakeLast(StoreKeys.RecentCoinsKept))
        {
            others.Add((StoreKeys.RecentCoins, transaction.ListLeftPushAsync(StoreKeys.RecentCoins, JsonSerializer.Serialize(new RecentCoin(coin.Hash, coin.FoundAt, _instanceId), StoreJsonContext.Default.RecentCoin))));
        }

        if (batch.Coins.Count > 0)
        {
            others.Add((StoreKeys.RecentCoins, transaction.ListTrimAsync(StoreKeys.RecentCoins, 0, StoreKeys.RecentCoinsKept - 1)));
        }

        var coinWrites = batch.Coins.Select(c => transaction.HashSetAsync(StoreKeys.Wallet, c.Hash, c.Bytes)).ToList();
        bool executed;
        try
        {
            executed = await transaction.ExecuteAsync();
        }
        catch
        {
            // No answer: the store may have applied it. A retry that finds the ledger rewritten must not guess blindly.
            _unconfirmedInDoubt = true;
            throw;
        }

        if (executed)
        {
            _ledger = batch.LedgerEntry;
            return await ResultOfAsync(batch, counter, instance, others, coinWrites);
        }

        // The condition failed: this batch was applied and its reply lost, or the ledger is not what we wrote, or
        // another worker changed the ledger hash between WATCH and EXEC (every worker writes to it).
        var recorded = await ReadLedgerAsync(db);
        if (recorded == _ledger && attempt < MaxConflictRetries)
        {
            // Our entry is as we left it: a concurrent write aborted the EXEC; nothing was applied, so go again.
            return await WriteOnceAsync(batch, attempt + 1);
        }

        if (recorded == _ledger)
        {
            throw new RedisException($"the flush ledger kept changing under batch {batch.Sequence} (other workers writing); retrying at the next flush");
        }

        if (recorded == batch.LedgerEntry)
        {
            _ledger = recorded;
            logger.LogInformation("Batch {Sequence} was already applied (its reply was lost); not applying it twice", batch.Sequence);
            return BatchResult.AllApplied(batch.Coins.Count);
        }

        // Not an entry we wrote (missing, garbage, another sequence, our next sequence without this batch's id): foreign.
        // Our run id is random, so only a store that lost data or a hand with redis-cli writes there. Unless an earlier try is in doubt, this batch was
        // certainly not applied: take the foreign value as the base of the next try, which writes over it (counted once,
        // nothing lost). In doubt, the batch's first coin in the wallet says it was applied; a batch without coins is
        // written again (counted twice only if its reply was lost and the entry overwritten within the same second).
        if (_unconfirmedInDoubt && batch.Coins.Count > 0 && await CoinInWalletAsync(db, batch.Coins[0]))
        {
            _ledger = recorded;
            warnings.Warn(StoreKeys.WorkerFlushes, $"holds {Describe(recorded)} for run {RunKey}, not {batch.LedgerEntry}; its coins show batch {batch.Sequence} was applied");
            return BatchResult.AllApplied(batch.Coins.Count);
        }

        var expected = _ledger;
        _ledger = recorded;
        throw new UnusableKeyException(
            StoreKeys.WorkerFlushes,
            $"holds {Describe(recorded)} for run {RunKey}, not {Describe(expected)}: taken as foreign, batch {batch.Sequence} is written again over it");
    }

    private async Task<RedisValue> ReadLedgerAsync(IDatabase db)
    {
        try
        {
            return await db.HashGetAsync(StoreKeys.WorkerFlushes, RunKey);
        }
        catch (RedisServerException ex)
        {
            // Not a hash (WRONGTYPE): no exactly-once ledger, so nothing is written until it is a hash again (or deleted).
            throw new UnusableKeyException(StoreKeys.WorkerFlushes, $"is not a hash ({ex.Message}), so no write can be counted exactly once");
        }
    }

    private static async Task<bool> CoinInWalletAsync(IDatabase db, Coin coin)
    {
        try
        {
            return await db.HashExistsAsync(StoreKeys.Wallet, coin.Hash);
        }
        catch (RedisServerException)
        {
            return false;
        }
    }

    private static string Describe(RedisValue value) => value.IsNull ? "nothing" : $"'{Truncate(value.ToString())}'";

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";

    private static async Task<BatchResult> ResultOfAsync(
        FlushBatch batch, Task<long> counter, Task<long> instance, List<(string Key, Task Write)> others, List<Task<bool>> coinWrites)
    {
        var counterFailure = await FailureOf(counter);
        var instanceFailure = await FailureOf(instance);
        var otherFailures = new List<(string, string)>();
        foreach (var (key, write) in others)
        {
            if (await FailureOf(write) is { } failure && !otherFailures.Exists(f => f.Item1 == key))
            {
                otherFailures.Add((key, failure));
            }
        }

        var refused = new List<Coin>();
        string? coinFailure = null;
        var created = 0;
        for (var i = 0; i < coinWrites.Count; i++)
        {
            if (await FailureOf(coinWrites[i]) is { } failure)
            {
                refused.Add(batch.Coins[i]);
                coinFailure ??= failure;
            }
            else if (coinWrites[i].Result)
            {
                created++;
            }
        }

        return new BatchResult(created, counterFailure, instanceFailure, refused, coinFailure, otherFailures);
    }

    /// <summary>The error a command inside EXEC got (WRONGTYPE, not an integer, overflow), or null.</summary>
    private static async Task<string?> FailureOf(Task write)
    {
        try
        {
            await write;
            return null;
        }
        catch (RedisServerException ex)
        {
            return ex.Message;
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
            await (await store.GetDatabaseAsync()).HashDeleteAsync(StoreKeys.WorkerFlushes, RunKey);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            logger.LogWarning("Could not remove this run's flush ledger entry: {Reason}", ex.Message);
        }
    }

    /// <summary>What each part of an applied batch did: new coins, and the failures of the commands that a key refused.</summary>
    private sealed record BatchResult(
        int NewCoins, string? CounterFailure, string? InstanceFailure, List<Coin> RefusedCoins, string? CoinFailure, List<(string Key, string Failure)> OtherFailures)
    {
        public static BatchResult AllApplied(int coins) => new(coins, null, null, [], null, []);
    }

    /// <summary>A key that holds something the flush cannot work with; nothing of the batch was applied.</summary>
    private sealed class UnusableKeyException(string key, string message) : Exception(message)
    {
        public string Key { get; } = key;
    }

    /// <summary>Computed work that the last flush at stop could not write.</summary>
    public sealed class WorkLostException(string message) : Exception(message);
}
