namespace RamCoin.WebUI;

/// <summary>
/// Reads the counter and the wallet size for <c>/json</c> within a fixed budget. When the store does not
/// answer in time, the last values read are given again, marked stale, so the page never freezes; a query
/// that answers late still refreshes them.
/// </summary>
public sealed class MiningSnapshotSource(StoreClient store, TimeProvider time, StoreKeyWarnings warnings)
{
    /// <summary>How long <c>/json</c> waits for the store before it answers from memory.</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(80);

    private MiningSnapshot? _last;

    /// <summary>A fresh snapshot, the last one marked stale, or null when the store never answered.</summary>
    public async Task<MiningSnapshot?> ReadAsync()
    {
        var query = QueryAsync();
        try
        {
            return await query.WaitAsync(Budget);
        }
        catch (Exception ex) when (ex is TimeoutException or RedisException)
        {
            // The query may still fail later: observe it, so it is not an unobserved task exception.
            _ = query.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
            var last = Volatile.Read(ref _last);
            return last is null ? null : last with { Now = Now(), Stale = true, StaleSince = last.Now };
        }
    }

    private async Task<MiningSnapshot> QueryAsync()
    {
        var db = await store.GetDatabaseAsync();
        var coins = db.HashLengthAsync(StoreKeys.Wallet);
        // The counter's length first: a huge value in it is never read.
        var hashes = BoundedStoreReads.CounterAsync(db, StoreKeys.Hashes);
        try
        {
            await Task.WhenAll(coins, hashes);
        }
        catch (RedisServerException)
        {
            // One key's error reply: Usable tells which; the other reply is still used.
        }

        // A key of another type (WRONGTYPE) or a counter that is not a whole number is a bad value, not an outage:
        // that figure stays as last read (0 before), the other is fresh.
        var last = Volatile.Read(ref _last);
        var snapshot = new MiningSnapshot(
            Usable(coins, StoreKeys.Wallet, c => c, out var c) ? c : last?.Coins ?? 0,
            Usable(hashes, StoreKeys.Hashes, h => h.IsNull ? 0 : h.TryParse(out long n) && n >= 0 ? n : null, out var h) ? h : last?.Hashes ?? 0,
            Now());
        Volatile.Write(ref _last, snapshot);
        return snapshot;
    }

    /// <summary>A reply's value; false when the key is unusable (warned). A failure of the store itself is thrown.</summary>
    private bool Usable<T>(Task<T> reply, string key, Func<T, long?> parse, out long value)
    {
        value = 0;
        if (reply.Exception?.InnerException is RedisServerException wrongType)
        {
            warnings.Warn(key, wrongType.Message + "; the last value read is shown");
            return false;
        }

        if (parse(reply.GetAwaiter().GetResult()) is not { } parsed)
        {
            warnings.Warn(key, "not a whole number; the last value read is shown");
            return false;
        }

        value = parsed;
        return true;
    }

    private double Now() => time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
}
