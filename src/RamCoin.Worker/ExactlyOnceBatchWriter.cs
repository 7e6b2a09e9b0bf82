namespace RamCoin.Worker;

/// <summary>
/// Writes one <see cref="FlushBatch"/> exactly once: one MULTI/EXEC that adds its counts and coins and records its
/// ledger entry in <see cref="StoreKeys.WorkerFlushes"/> under <paramref name="runKey"/>, run only if that field still
/// holds the previous batch's entry. A batch whose reply was lost is written again unchanged; if the store already holds
/// its entry (its id, which no other client can know), it was applied and is not applied again.
/// </summary>
/// <param name="report">This worker's telemetry report, written with every batch.</param>
public sealed class ExactlyOnceBatchWriter(
    StoreClient store, StoreKeyWarnings warnings, TimeProvider time, ILogger logger, string instanceId, string runKey, Func<string> report)
{
    /// <summary>
    /// Immediate retries of a batch whose EXEC another worker's write to the shared ledger aborted, or that met a foreign
    /// ledger entry (then taken as the base).
    /// </summary>
    private const int MaxConflictRetries = 3;

    /// <summary>What the store's ledger holds for this run, as far as this worker knows (null: nothing yet).</summary>
    private RedisValue _ledger = RedisValue.Null;

    /// <summary>
    /// True once an EXEC of the current batch went out without an answer (a timeout, a cut connection): the store may
    /// have applied it. Cleared by <see cref="StartBatch"/>.
    /// </summary>
    private bool _inDoubt;

    /// <summary>A new batch begins: no EXEC of it has gone out yet.</summary>
    public void StartBatch() => _inDoubt = false;

    /// <summary>Applies the batch unless the store already has it; says what each key did with its part.</summary>
    public Task<BatchResult> WriteAsync(FlushBatch batch) => WriteAsync(batch, attempt: 0);

    private async Task<BatchResult> WriteAsync(FlushBatch batch, int attempt)
    {
        var db = await store.GetDatabaseAsync();
        var transaction = db.CreateTransaction();
        transaction.AddCondition(_ledger.IsNull
            ? Condition.HashNotExists(StoreKeys.WorkerFlushes, runKey)
            : Condition.HashEqual(StoreKeys.WorkerFlushes, runKey, _ledger));
        var counter = transaction.StringIncrementAsync(StoreKeys.Hashes, batch.Hashes);
        var instance = transaction.HashIncrementAsync(StoreKeys.WorkerHashes, instanceId, batch.InstanceHashes);
        var others = new List<(string Key, Task Write)>
        {
            (StoreKeys.WorkerSeen, transaction.HashSetAsync(StoreKeys.WorkerSeen, instanceId, time.GetUtcNow().ToUnixTimeSeconds())),
            (StoreKeys.WorkerFlushes, transaction.HashSetAsync(StoreKeys.WorkerFlushes, runKey, batch.LedgerEntry)),
            (StoreKeys.WorkerTelemetry, transaction.HashSetAsync(StoreKeys.WorkerTelemetry, instanceId, report())),
        };
        foreach (var coin in batch.Coins.TakeLast(StoreKeys.RecentCoinsKept))
        {
            others.Add((StoreKeys.RecentCoins, transaction.ListLeftPushAsync(StoreKeys.RecentCoins, JsonSerializer.Serialize(new RecentCoin(coin.Hash, coin.FoundAt, instanceId), StoreJsonContext.Default.RecentCoin))));
        }

        if (batch.Coins.Count > 0)
        {
            others.Add((StoreKeys.RecentCoins, transaction.ListTrimAsync(StoreKeys.RecentCoins, 0, StoreKeys.RecentCoinsKept - 1)));
        }

        var coinWrites = batch.Coins.Select(c => transaction.HashSetAsync(StoreKeys.Wallet, c.Hash, c.Bytes)).ToList();
        bool executed;
        try
        {
            executed = await store.WithinDeadline(transaction.ExecuteAsync());
        }
        catch
        {
            // No answer (or none in time): the store may have applied it. A retry that finds the ledger rewritten must not guess blindly.
            _inDoubt = true;
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
            return await WriteAsync(batch, attempt: attempt + 1);
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
        // certainly not applied: take the foreign value as the base of a try at once, which writes over it (counted once,
        // nothing lost, and a last flush at stop needs no second call). In doubt, the batch's first coin in the wallet says
        // it was applied; a batch without coins is written again (counted twice only if its reply was lost and the entry
        // overwritten within the same second).
        if (_inDoubt && batch.Coins.Count > 0 && await CoinInWalletAsync(db, batch.Coins[0]))
        {
            _ledger = recorded;
            warnings.Warn(StoreKeys.WorkerFlushes, $"holds {Describe(recorded)} for run {runKey}, not {batch.LedgerEntry}; its coins show batch {batch.Sequence} was applied");
            return BatchResult.AllApplied(batch.Coins.Count);
        }

        var problem = $"holds {Describe(recorded)} for run {runKey}, not {Describe(_ledger)}: taken as foreign, batch {batch.Sequence} is written again over it";
        _ledger = recorded;
        if (attempt < MaxConflictRetries)
        {
            warnings.Warn(StoreKeys.WorkerFlushes, problem);
            return await WriteAsync(batch, attempt: attempt + 1);
        }

        throw new UnusableKeyException(StoreKeys.WorkerFlushes, problem);
    }

    private async Task<RedisValue> ReadLedgerAsync(IDatabase db)
    {
        try
        {
            return await store.WithinDeadline(db.HashGetAsync(StoreKeys.WorkerFlushes, runKey));
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal))
        {
            // Not a hash (WRONGTYPE): no exactly-once ledger, so nothing is written until it is a hash again (or deleted).
            throw new UnusableKeyException(StoreKeys.WorkerFlushes, $"is not a hash ({ex.Message}), so no write can be counted exactly once");
        }
    }

    private async Task<bool> CoinInWalletAsync(IDatabase db, Coin coin)
    {
        try
        {
            return await store.WithinDeadline(db.HashExistsAsync(StoreKeys.Wallet, coin.Hash));
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
}

/// <summary>What each part of an applied batch did: new coins, and the failures of the commands that a key refused.</summary>
public sealed record BatchResult(
    int NewCoins, string? CounterFailure, string? InstanceFailure, List<Coin> RefusedCoins, string? CoinFailure, List<(string Key, string Failure)> OtherFailures)
{
    public static BatchResult AllApplied(int coins) => new(coins, null, null, [], null, []);
}

/// <summary>A key that holds something the flush cannot work with; nothing of the batch was applied.</summary>
public sealed class UnusableKeyException(string key, string message) : Exception(message)
{
    public string Key { get; } = key;
}
