using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RamCoin.ServiceDefaults;
using StackExchange.Redis;

namespace RamCoin.Worker;

/// <summary>
/// Once a second, DockerCoins' <c>INCRBY hashes N</c> and its log line, plus this worker's own counts and the
/// coins found, in one MULTI/EXEC so the counter and the wallet move together. On stop, a last flush.
/// </summary>
public sealed class HashCounterFlusher(
    StoreClient store,
    MiningStats stats,
    IOptions<WorkerOptions> options,
    ServiceIdentity identity,
    TimeProvider time,
    ILogger<HashCounterFlusher> logger) : BackgroundService
{
    private readonly string _instanceId = string.IsNullOrWhiteSpace(options.Value.InstanceId) ? identity.HostName : options.Value.InstanceId;
    private readonly SemaphoreSlim _flushing = new(1, 1);

    public string InstanceId => _instanceId;

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
            return;
        }

        // Waiting for a store that is down would overrun the stop deadline; say what is lost.
        var (hashes, coins) = stats.TakePending();
        if (hashes > 0 || coins.Count > 0)
        {
            logger.LogError("Store unreachable at shutdown: {Count} hashes and {Coins} coins were not written", hashes, coins.Count);
        }
    }

    /// <summary>Writes what is pending; on failure it stays pending for the next flush.</summary>
    public async Task FlushAsync()
    {
        await _flushing.WaitAsync();
        try
        {
            var (hashes, coins) = stats.TakePending();
            logger.LogInformation("{Count} units of work done, updating hash counter", hashes);
            try
            {
                var created = await WriteAsync(hashes, coins);
                stats.Confirm(hashes, coins.Count);
                if (created < coins.Count)
                {
                    logger.LogInformation("We already had {Count} of those coins", coins.Count - created);
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                stats.Restore(hashes, coins);
                logger.LogWarning("Store write failed, keeping {Count} hashes and {Coins} coins for the next try: {Reason}", hashes, coins.Count, ex.Message);
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    private async Task<int> WriteAsync(long hashes, List<Coin> coins)
    {
        var db = await store.GetDatabaseAsync();
        var transaction = db.CreateTransaction();
        _ = transaction.StringIncrementAsync(StoreKeys.Hashes, hashes);
        _ = transaction.HashIncrementAsync(StoreKeys.WorkerHashes, _instanceId, hashes);
        _ = transaction.HashSetAsync(StoreKeys.WorkerSeen, _instanceId, time.GetUtcNow().ToUnixTimeSeconds());
        var coinWrites = coins.Select(c => transaction.HashSetAsync(StoreKeys.Wallet, c.Hash, c.Bytes)).ToList();
        if (!await transaction.ExecuteAsync())
        {
            throw new RedisException("the store refused the transaction");
        }

        var results = await Task.WhenAll(coinWrites);
        return results.Count(created => created);
    }
}
