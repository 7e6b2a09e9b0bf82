namespace RamCoin.WebUI;

/// <summary>
/// How much the web UI reads of a store key, whatever the key holds (anyone may write anything there): sizes are asked
/// for before values are read, and hashes are scanned in pages up to a count, so that garbage costs a bounded amount of
/// memory per read. A size and the read after it are two commands: a value swapped in between is still bounded by the
/// count (hashes) or by the range read (the counter).
/// </summary>
public static class BoundedStoreReads
{
    /// <summary>Longest counter read: long.MaxValue has 19 digits.</summary>
    public const int MaxCounterLength = 20;

    /// <summary>Fields read of <c>ramcoin:worker:seen</c> and <c>ramcoin:worker:hashes</c>: the workers a dashboard shows.</summary>
    public const int MaxWorkers = 1_000;

    /// <summary>Fields asked for per HSCAN page.</summary>
    public const int ScanPage = 100;

    /// <summary>Largest <c>ramcoin:worker:seen</c> or <c>ramcoin:worker:hashes</c> read (MEMORY USAGE; 1,000 workers take about 100 KB).</summary>
    public const long MaxWorkerHashBytes = 2 * 1024 * 1024;

    /// <summary>Largest <c>ramcoin:coins:recent</c> read (MEMORY USAGE; its 20 entries take about 4 KB).</summary>
    public const long MaxRecentCoinsBytes = 256 * 1024;

    /// <summary>Longest wallet value read for a recent coin (HSTRLEN; a coin's bytes are 32).</summary>
    public const int MaxCoinBytes = 1024;

    /// <summary>Longest worker report read (HSTRLEN; a report is about 1 KB).</summary>
    public const int MaxReportBytes = 64 * 1024;

    /// <summary>All worker reports read in one tick, at most.</summary>
    public const int MaxReportsBytes = 4 * 1024 * 1024;

    /// <summary>
    /// A counter (<c>hashes</c>): Null when missing or empty, EmptyString (not a number) when longer than any count.
    /// At most <see cref="MaxCounterLength"/> + 1 bytes are read, whatever the key holds.
    /// </summary>
    public static async Task<RedisValue> CounterAsync(IDatabase db, RedisKey key)
    {
        var length = db.StringLengthAsync(key);
        var prefix = db.StringGetRangeAsync(key, 0, MaxCounterLength);
        await Task.WhenAll(length, prefix);
        return length.Result == 0 ? RedisValue.Null
            : length.Result > MaxCounterLength || prefix.Result.Length() > MaxCounterLength ? RedisValue.EmptyString
            : prefix.Result;
    }

    /// <summary>The key's size in the store (MEMORY USAGE, every element counted), 0 when missing, null when the store cannot say.</summary>
    public static async Task<long?> SizeAsync(IDatabase db, RedisKey key)
    {
        try
        {
            var usage = await db.ExecuteAsync("MEMORY", "USAGE", key, "SAMPLES", "0");
            return usage.IsNull ? 0 : (long)usage;
        }
        catch (RedisServerException)
        {
            // A store without MEMORY USAGE (or that refuses it): the count bounds alone hold.
            return null;
        }
    }

    /// <summary>
    /// A hash of small values (worker times and counts): null when it takes more than <paramref name="maxBytes"/>; else its
    /// first <see cref="MaxWorkers"/> fields, scanned in pages, and whether it has more.
    /// </summary>
    public static async Task<(List<HashEntry> Entries, bool More)?> SmallHashAsync(IDatabase db, RedisKey key, long maxBytes)
    {
        if (await SizeAsync(db, key) > maxBytes)
        {
            return null;
        }

        var entries = new List<HashEntry>();
        await foreach (var entry in db.HashScanAsync(key, pageSize: ScanPage))
        {
            if (entries.Count == MaxWorkers)
            {
                return (entries, true);
            }

            entries.Add(entry);
        }

        return (entries, false);
    }

    /// <summary>
    /// The values of these fields of a hash whose lengths (HSTRLEN, asked first) are from 1 to <paramref name="maxLength"/>
    /// and add up to at most <paramref name="maxTotal"/>; Null for the others, and how many of those were present.
    /// </summary>
    public static async Task<(RedisValue[] Values, int Skipped)> ShortValuesAsync(IDatabase db, RedisKey key, RedisValue[] fields, int maxLength, long maxTotal)
    {
        var lengths = await Task.WhenAll(fields.Select(f => db.HashStringLengthAsync(key, f)));
        var wanted = new List<int>();
        var (total, skipped) = (0L, 0);
        for (var i = 0; i < fields.Length; i++)
        {
            if (lengths[i] == 0)
            {
                continue;
            }

            if (lengths[i] > maxLength || total + lengths[i] > maxTotal)
            {
                skipped++;
                continue;
            }

            total += lengths[i];
            wanted.Add(i);
        }

        var values = new RedisValue[fields.Length];
        if (wanted.Count > 0)
        {
            var read = await db.HashGetAsync(key, [.. wanted.Select(i => fields[i])]);
            for (var j = 0; j < wanted.Count; j++)
            {
                values[wanted[j]] = read[j];
            }
        }

        return (values, skipped);
    }
}
