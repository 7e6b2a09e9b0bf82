namespace RamCoin.Worker;

/// <summary>
/// Once a minute, removes what departed workers left: their fields in <see cref="StoreKeys.WorkerHashes"/>,
/// <see cref="StoreKeys.WorkerSeen"/> and <see cref="StoreKeys.WorkerTelemetry"/>, and their runs' entries in
/// <see cref="StoreKeys.WorkerFlushes"/>. Every worker does it; they agree because each removal is one transaction
/// that runs only if the instance's <c>seen</c> value is still the one read (WATCH), and a live run writes
/// <c>seen</c> in the same transaction as its ledger entry: a run that wrote since the read makes the removal void,
/// so a live run's sequence is never removed. This worker's own instance is never pruned.
/// </summary>
public sealed class DepartedWorkerPruner(
    StoreClient store,
    HashCounterFlusher flusher,
    StoreKeyWarnings warnings,
    IOptions<WorkerOptions> options,
    TimeProvider time,
    ILogger<DepartedWorkerPruner> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Fields read of each key per pass, in HSCAN pages: a hash full of garbage costs a bounded read, and what a pass
    /// removes makes room for the rest in the next ones.
    /// </summary>
    public const int MaxFieldsPerPass = 10_000;

    private const int ScanPage = 100;

    private readonly PruneDecider _decider = new(options.Value.PruneAfterSeconds);
    private long _pruned;

    /// <summary>Departed instances removed so far by this worker.</summary>
    public long Pruned => Interlocked.Read(ref _pruned);

    /// <summary>Passes done (one a minute; the first one flush interval after start).</summary>
    public long Passes { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(options.Value.FlushMs), time, stoppingToken);
            using var timer = new PeriodicTimer(Interval, time);
            do
            {
                await PruneOnceAsync();
                Passes++;
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    public async Task PruneOnceAsync()
    {
        try
        {
            var db = await store.GetDatabaseAsync();
            var seen = await ReadAsync(db, StoreKeys.WorkerSeen, k => ScanAsync(db, k));
            if (seen is null)
            {
                // Without a readable "seen" nobody can tell live workers from departed ones: prune nothing.
                return;
            }

            var instances = new HashSet<string>(StringComparer.Ordinal);
            var runs = (await ReadAsync(db, StoreKeys.WorkerFlushes, k => ScanAsync(db, k)) ?? []).Select(e => e.Name);
            foreach (var key in new[] { StoreKeys.WorkerHashes, StoreKeys.WorkerTelemetry })
            {
                foreach (var entry in await ReadAsync(db, key, k => ScanAsync(db, k)) ?? [])
                {
                    instances.Add(entry.Name.ToString());
                }
            }

            var runsByInstance = runs.Select(r => r.ToString()).ToLookup(PruneDecider.InstanceOfRun, StringComparer.Ordinal);
            instances.UnionWith(runsByInstance.Select(g => g.Key));
            // An indexer, not ToDictionary: a scan may return a field twice (while the store rehashes).
            var seenValues = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in seen)
            {
                seenValues[entry.Name.ToString()] = entry.Value.ToString();
            }

            var departed = _decider.Decide(
                seenValues,
                instances,
                flusher.InstanceId,
                time.GetUtcNow().ToUnixTimeSeconds());
            foreach (var (instance, seenValue) in departed)
            {
                await RemoveAsync(db, instance, seenValue, [.. runsByInstance[instance]]);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            logger.LogDebug("Pruning departed workers skipped: {Reason}", ex.Message);
        }
    }

    /// <summary>A hash's first <see cref="MaxFieldsPerPass"/> fields, scanned in pages.</summary>
    private static async Task<List<HashEntry>> ScanAsync(IDatabase db, RedisKey key)
    {
        var entries = new List<HashEntry>();
        await foreach (var entry in db.HashScanAsync(key, pageSize: ScanPage))
        {
            entries.Add(entry);
            if (entries.Count == MaxFieldsPerPass)
            {
                break;
            }
        }

        return entries;
    }

    /// <summary>Removes one departed instance, only if its <c>seen</c> value is still the one decided on.</summary>
    private async Task RemoveAsync(IDatabase db, string instance, string? seenValue, string[] runKeys)
    {
        var transaction = db.CreateTransaction();
        transaction.AddCondition(seenValue is null
            ? Condition.HashNotExists(StoreKeys.WorkerSeen, instance)
            : Condition.HashEqual(StoreKeys.WorkerSeen, instance, seenValue));
        var deletes = new List<(string Key, Task Delete)>
        {
            (StoreKeys.WorkerSeen, transaction.HashDeleteAsync(StoreKeys.WorkerSeen, instance)),
            (StoreKeys.WorkerHashes, transaction.HashDeleteAsync(StoreKeys.WorkerHashes, instance)),
            (StoreKeys.WorkerTelemetry, transaction.HashDeleteAsync(StoreKeys.WorkerTelemetry, instance)),
        };
        if (runKeys.Length > 0)
        {
            deletes.Add((StoreKeys.WorkerFlushes, transaction.HashDeleteAsync(StoreKeys.WorkerFlushes, [.. runKeys.Select(r => (RedisValue)r)])));
        }

        if (!await store.WithinDeadline(transaction.ExecuteAsync()))
        {
            return; // it wrote meanwhile: alive
        }

        foreach (var (key, delete) in deletes)
        {
            try
            {
                await delete;
            }
            catch (RedisServerException ex)
            {
                warnings.Warn(key, $"cannot remove departed worker {instance} from it ({ex.Message})");
            }
        }

        Interlocked.Increment(ref _pruned);
        logger.LogInformation(
            "Removed departed worker {Instance} (last seen {Seen}) and {Runs} of its flush ledger entries",
            LogText.Escape(instance), seenValue is null ? "never" : LogText.Escape(seenValue), runKeys.Length);
    }

    /// <summary>A hash's content, or null (with a warning) when the key holds another type.</summary>
    private async Task<T?> ReadAsync<T>(IDatabase db, string key, Func<RedisKey, Task<T>> read)
        where T : class
    {
        try
        {
            return await read(key);
        }
        catch (RedisServerException ex)
        {
            warnings.Warn(key, $"cannot read it to prune departed workers ({ex.Message})");
            return null;
        }
    }
}

/// <summary>
/// Which instances are gone. A valid <c>seen</c> (unix seconds, not in the future by more than a few minutes)
/// older than the limit: gone. A value that is garbage or absurd (<c>abc</c>, negative, 9000000000000000000) or
/// missing while the instance still has fields elsewhere says nothing about when it left: it counts as unknown,
/// and is removed only once it has stayed exactly that garbage (or missing) for the whole limit as watched by this
/// worker. A live worker writes a valid time every flush, so an entry that stays garbage that long is garbage and
/// nothing else; removing it is what keeps such entries from growing forever.
/// </summary>
public sealed class PruneDecider(int pruneAfterSeconds)
{
    /// <summary>How far in the future a worker's clock may be before its time counts as absurd.</summary>
    public const long FutureTolerance = 300;

    private const int MaxWatched = 100_000;

    private readonly Dictionary<string, (string? Value, long Since)> _unknown = new(StringComparer.Ordinal);

    /// <summary>What is kept of a watched value: itself when short, else its length and SHA-256 (garbage may be megabytes).</summary>
    private static string? Fingerprint(string? value) =>
        value is null || value.Length <= 64
            ? value
            : $"{value.Length}:{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(value)))}";

    /// <summary>The instance of a ledger field "instance/run": everything before the last slash.</summary>
    public static string InstanceOfRun(string runKey)
    {
        var slash = runKey.LastIndexOf('/');
        return slash < 0 ? runKey : runKey[..slash];
    }

    /// <summary>The departed instances with the <c>seen</c> value the removal must still find (null: none).</summary>
    public List<(string Instance, string? Seen)> Decide(
        IReadOnlyDictionary<string, string> seen, IEnumerable<string> otherInstances, string self, long now)
    {
        var departed = new List<(string, string?)>();
        var stillUnknown = new HashSet<string>(StringComparer.Ordinal);
        foreach (var instance in seen.Keys.Concat(otherInstances.Where(i => !seen.ContainsKey(i))).Distinct(StringComparer.Ordinal))
        {
            if (instance == self)
            {
                continue;
            }

            string? value = seen.TryGetValue(instance, out var v) ? v : null;
            if (value is not null && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var at) && at > 0 && at <= now + FutureTolerance)
            {
                if (now - at > pruneAfterSeconds)
                {
                    departed.Add((instance, value));
                }

                continue;
            }

            // Unknown: watch it; the same value for the whole limit means nobody live is behind it.
            stillUnknown.Add(instance);
            var print = Fingerprint(value);
            if (_unknown.TryGetValue(instance, out var watched) && watched.Value == print)
            {
                if (now - watched.Since > pruneAfterSeconds)
                {
                    departed.Add((instance, value));
                }
            }
            else if (_unknown.Count < MaxWatched)
            {
                _unknown[instance] = (print, now);
            }
        }

        foreach (var gone in _unknown.Keys.Where(k => !stillUnknown.Contains(k)).ToList())
        {
            _unknown.Remove(gone);
        }

        return departed;
    }
}
