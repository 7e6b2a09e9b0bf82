using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RamCoin.ServiceDefaults;

namespace RamCoin.Worker;

/// <summary>
/// WORKER_CONCURRENCY loops, each DockerCoins' <c>work_once</c>: wait, get 32 bytes from rng, hash them
/// with hasher, keep the hash as a coin when it meets the difficulty. A failed call is logged and the loop goes on.
/// </summary>
public sealed class MiningLoops(
    RngClient rng,
    HasherClient hasher,
    MiningStats stats,
    IOptions<WorkerOptions> options,
    ServiceHostSettings settings,
    ILogger<MiningLoops> logger) : BackgroundService
{
    private readonly WorkerOptions _options = options.Value;
    private readonly string _prefix = options.Value.Difficulty.ToLowerInvariant();

    // A coin is one hash in 16 at the classic difficulty: at fast-profile speeds a log line each would flood.
    private readonly LogLevel _coinLogLevel = settings.Profile == Profile.Fast ? LogLevel.Debug : LogLevel.Information;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, _options.Concurrency).Select(_ => Task.Run(() => LoopAsync(stoppingToken), CancellationToken.None)));

    private async Task LoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await MineOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or InvalidDataException or OperationCanceledException)
            {
                // OperationCanceledException without a stop request is HttpClient's timeout.
                stats.RecordError();
                logger.LogWarning("Loop failed, going on: {Reason}", ex.Message);
                if (!await PauseAsync(_options.ErrorBackoffMs, stoppingToken))
                {
                    return;
                }
            }
        }
    }

    private async Task MineOnceAsync(CancellationToken cancellationToken)
    {
        if (_options.DelayMs > 0)
        {
            await Task.Delay(_options.DelayMs, cancellationToken);
        }

        var bytes = await rng.GetBytesAsync(32, cancellationToken);
        var hash = await hasher.HashAsync(bytes, cancellationToken);
        if (hash.StartsWith(_prefix, StringComparison.Ordinal))
        {
            logger.Log(_coinLogLevel, "Coin found: {Prefix}...", hash[..8]);
            stats.RecordHash(new Coin(hash, bytes));
        }
        else
        {
            stats.RecordHash(null);
        }
    }

    private static async Task<bool> PauseAsync(int milliseconds, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(milliseconds, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
