using System.Text.Json.Serialization.Metadata;

namespace RamCoin.WebUI;

/// <summary>
/// What one tick read of the store, already checked: values that could not be used are left out (null: the key
/// was unusable). The calculator's only input besides the clock's reading.
/// </summary>
public sealed record StoreSample(
    long? Hashes,
    long? Coins,
    IReadOnlyDictionary<string, long> WorkerTotals,
    IReadOnlyDictionary<string, double> Seen,
    IReadOnlyDictionary<string, WorkerReport> Reports,
    IReadOnlyList<StoredCoin> Recent);

/// <summary>A recent coin as the worker announced it, and the wallet's bytes for its hash (null: not in the wallet).</summary>
public sealed record StoredCoin(RecentCoin Coin, byte[]? Bytes);

/// <summary>
/// Reads and checks the store's keys for the dashboard. Holds no state of the dashboard's arithmetic, so that a
/// read finishing after the tick's budget changes nothing the next tick uses; bad values are skipped and warned
/// (once a minute per key, by <see cref="StoreKeyWarnings"/>).
/// </summary>
public sealed class DashboardStoreReader(StoreClient store, StoreKeyWarnings warnings)
{
    public async Task<StoreSample> ReadAsync(double now)
    {
        var db = await store.GetDatabaseAsync();
        // Sizes before values, hashes in pages (BoundedStoreReads): garbage in any key costs a bounded read.
        // A wrong type reads as what no counter holds: an empty string (not a number, skipped below) and -1 coins.
        var hashesTask = Key(BoundedStoreReads.CounterAsync(db, StoreKeys.Hashes), StoreKeys.Hashes, RedisValue.EmptyString);
        var coinsTask = Key(db.HashLengthAsync(StoreKeys.Wallet), StoreKeys.Wallet, -1);
        var workerHashesTask = WorkerHashAsync(db, StoreKeys.WorkerHashes);
        var seenTask = WorkerHashAsync(db, StoreKeys.WorkerSeen);
        var recentTask = Key(RecentEntriesAsync(db), StoreKeys.RecentCoins);
        await Task.WhenAll(hashesTask, coinsTask, workerHashesTask, seenTask, recentTask);

        long? hashes = null;
        var h = hashesTask.Result;
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

        var workerTotals = Entries<long>(workerHashesTask.Result, StoreKeys.WorkerHashes, v => v.TryParse(out long n) && n is >= 0 and <= DashboardChecks.MaxCount ? n : null);
        // Seen in the future (more than a clock's drift) or before 1970 is not a time a worker wrote.
        var seen = Entries<double>(seenTask.Result, StoreKeys.WorkerSeen, v => v.TryParse(out double t) && double.IsFinite(t) && t > 0 && t < now + 300 ? t : (double?)null);
        // Only the telemetry of workers seen lately is read and parsed: departed workers' entries cost nothing.
        var recentWorkers = seen.Where(w => w.Value >= now - DashboardCalculator.WorkerGoneSeconds).Select(w => (RedisValue)w.Key).ToArray();
        var reports = new Dictionary<string, WorkerReport>(StringComparer.Ordinal);
        if (recentWorkers.Length > 0
            && await Key(BoundedStoreReads.ShortValuesAsync(db, StoreKeys.WorkerTelemetry, recentWorkers, BoundedStoreReads.MaxReportBytes, BoundedStoreReads.MaxReportsBytes), StoreKeys.WorkerTelemetry) is ({ } telemetry, var skipped))
        {
            if (skipped > 0)
            {
                warnings.Warn(StoreKeys.WorkerTelemetry, $"{skipped} reports over {BoundedStoreReads.MaxReportBytes} bytes (or past {BoundedStoreReads.MaxReportsBytes} in all); skipped unread");
            }

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

        return new StoreSample(hashes, coinsTask.Result is >= 0 and var coins ? coins : null, workerTotals, seen, reports, await RecentCoinsAsync(db, recentTask.Result ?? []));
    }

    /// <summary>A worker hash's first fields (null: skipped, warned): too large a hash is not read at all.</summary>
    private async Task<List<HashEntry>?> WorkerHashAsync(IDatabase db, string key)
    {
        (List<HashEntry> Entries, bool More)? read;
        try
        {
            read = await BoundedStoreReads.SmallHashAsync(db, key, BoundedStoreReads.MaxWorkerHashBytes);
        }
        catch (RedisServerException ex)
        {
            warnings.Warn(key, ex.Message + "; skipped");
            return null;
        }

        if (read is not { } found)
        {
            warnings.Warn(key, $"takes more than {BoundedStoreReads.MaxWorkerHashBytes} bytes; skipped unread");
            return null;
        }

        var (entries, more) = found;

        if (more)
        {
            warnings.Warn(key, $"has more than {BoundedStoreReads.MaxWorkers} fields; the rest are skipped unread");
        }

        return entries;
    }

    /// <summary>The recent coins list, unless it takes more room than its 20 short entries could.</summary>
    private async Task<RedisValue[]> RecentEntriesAsync(IDatabase db)
    {
        if (await BoundedStoreReads.SizeAsync(db, StoreKeys.RecentCoins) > BoundedStoreReads.MaxRecentCoinsBytes)
        {
            warnings.Warn(StoreKeys.RecentCoins, $"takes more than {BoundedStoreReads.MaxRecentCoinsBytes} bytes; skipped unread");
            return [];
        }

        return await db.ListRangeAsync(StoreKeys.RecentCoins, 0, StoreKeys.RecentCoinsKept - 1);
    }

    /// <summary>The recent coins that are well formed, each with the wallet's bytes for its hash (the calculator checks them).</summary>
    private async Task<List<StoredCoin>> RecentCoinsAsync(IDatabase db, RedisValue[] entries)
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

        // A coin's bytes are 32: a longer wallet value is not read, and its coin shows unverified.
        var (bytes, skipped) = await Key(
            BoundedStoreReads.ShortValuesAsync(db, StoreKeys.Wallet, [.. coins.Select(c => (RedisValue)c.Hash)], BoundedStoreReads.MaxCoinBytes, long.MaxValue),
            StoreKeys.Wallet,
            (new RedisValue[coins.Count], 0));
        if (skipped > 0)
        {
            warnings.Warn(StoreKeys.Wallet, $"{skipped} recent coins' values over {BoundedStoreReads.MaxCoinBytes} bytes; skipped unread");
        }

        return [.. coins.Select((c, i) => new StoredCoin(c, bytes[i].IsNull ? null : (byte[])bytes[i]!))];
    }

    /// <summary>
    /// A key's reply, or <paramref name="skipped"/> (warned) when the key holds another type than ours: a wrong type is
    /// not an outage.
    /// </summary>
    private async Task<T?> Key<T>(Task<T> read, string key, T? skipped = default)
    {
        try
        {
            return await read;
        }
        catch (RedisServerException ex)
        {
            warnings.Warn(key, ex.Message + "; skipped");
            return skipped;
        }
    }

    private Dictionary<string, T> Entries<T>(List<HashEntry>? entries, string key, Func<RedisValue, T?> parse)
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

    private T? ParseJson<T>(RedisValue value, JsonTypeInfo<T> type, string key)
        where T : class
    {
        try
        {
            if (value.Length() <= BoundedStoreReads.MaxReportBytes && JsonSerializer.Deserialize(value.ToString(), type) is { } parsed)
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
}
