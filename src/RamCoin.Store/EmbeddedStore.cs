using Garnet;

namespace RamCoin.Store;

/// <summary>
/// Microsoft Garnet in this process, speaking RESP on a TCP port like any Redis. With a data folder it keeps
/// an append-only file committed on every write, truncated behind a checkpoint once it passes
/// <see cref="AofSizeLimit"/>, and recovers both at start.
/// </summary>
public sealed class EmbeddedStore(EmbeddedStoreOptions options, ILoggerFactory loggerFactory) : IHostedService, IDisposable
{
    /// <summary>The append-only file's size that makes Garnet take a checkpoint and truncate it.</summary>
    public const string AofSizeLimit = "8m";

    /// <summary>The AOF's file size: truncation removes whole files, so small ones keep the directory close to the limit.</summary>
    public const string AofSegmentSize = "2m";

    private GarnetServer? _server;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var arguments = Arguments(options);
        if (EmbeddedStoreOptions.IsOpen(options.Bind, options.Password))
        {
            // Allowed (RAMCOIN_ALLOW_OPEN_STORE), but never silent: the log says who can reach the wallet.
            loggerFactory.CreateLogger<EmbeddedStore>().LogWarning(
                "The store listens on {Bind}:{Port} without a password (RAMCOIN_ALLOW_OPEN_STORE): anyone who reaches that port can read and change the wallet",
                options.Bind, options.Port);
        }

        var server = new GarnetServer(arguments, loggerFactory);
        try
        {
            server.Start();
        }
        catch
        {
            server.Dispose();
            throw;
        }

        _server = server;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        // GarnetServer.Dispose throws when called twice.
        Interlocked.Exchange(ref _server, null)?.Dispose();
    }

    /// <summary>Garnet's command line for these options; the settings are the ones measured to work on small machines.</summary>
    public static string[] Arguments(EmbeddedStoreOptions options)
    {
        var arguments = new List<string>
        {
            "--port", options.Port.ToString(CultureInfo.InvariantCulture),
            "--bind", options.Bind,
            // Small memory: a coin miner stores a counter and a wallet, not gigabytes.
            "--memory", "64m", "--page", "1m", "--index", "1m",
        };
        if (!string.IsNullOrWhiteSpace(options.DataDir))
        {
            var dataDir = PrepareDataDir(options.DataDir);
            arguments.AddRange([
                // Commit every write, and answer only once it is written: an acknowledged write survives kill -9.
                // Writes are rare here (a worker flushes once a second), so the latency costs nothing that shows.
                "--aof", "--aof-commit-freq", "0", "--aof-commit-wait", "--aof-memory", "4m", "--aof-page-size", "2m",
                // Bounded on disk: once the AOF passes AofSizeLimit (checked every second) Garnet takes a checkpoint and
                // truncates the AOF before it, whole segments at a time. Recovery loads the checkpoint and replays the rest.
                // A classic worker writes about 1 KB a second, so a checkpoint every two hours or so (a 1 MiB index and
                // the data), where the AOF alone grew about 85 MB a day.
                "--aof-size-limit", AofSizeLimit, "--aof-size-limit-enforce-frequency", "1", "--aof-segment-size", AofSegmentSize,
                "--checkpointdir", dataDir, "--recover",
                // The native device library needs a newer glibc than some machines have.
                "--device-type", "RandomAccess",
            ]);
        }

        if (!string.IsNullOrEmpty(options.Password))
        {
            arguments.AddRange(["--auth", "Password", "--password", options.Password]);
        }

        return [.. arguments];
    }

    private static string PrepareDataDir(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(full);
            // Prove it is writable now, rather than failing on the first write.
            var probe = Path.Combine(full, ".ramcoin-write-test");
            File.WriteAllText(probe, "ok");
            File.Delete(probe);
            return full;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"data directory '{full}' is not usable: {ex.Message}", ex);
        }
    }
}
