using RamCoin.ServiceDefaults;
using StackExchange.Redis;

namespace RamCoin.WebUI;

/// <summary>
/// Reads the counter and the wallet size for <c>/json</c> within a fixed budget. When the store does not
/// answer in time, the last values read are given again, marked stale, so the page never freezes; a query
/// that answers late still refreshes them.
/// </summary>
public sealed class MiningSnapshotSource(StoreClient store, TimeProvider time)
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
        var hashes = db.StringGetAsync(StoreKeys.Hashes);
        await Task.WhenAll(coins, hashes);
        var snapshot = new MiningSnapshot(coins.Result, hashes.Result.TryParse(out long h) ? h : 0, Now());
        Volatile.Write(ref _last, snapshot);
        return snapshot;
    }

    private double Now() => time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
}
