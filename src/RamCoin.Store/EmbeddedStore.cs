using Garnet.server;

namespace RamCoin.Store;

/// <summary>
/// Microsoft Garnet in this process, speaking RESP on a TCP port like any Redis. With a data folder it keeps
/// an append-only file committed on every write and recovers it at start; once the file passes
/// <see cref="AofSizeLimitBytes"/> it is compacted into a checkpoint taken by the running server, which keeps its
/// port and its clients meanwhile. The data folder is locked for the store's lifetime: two stores on one folder would
/// each truncate the other's writes.
/// </summary>
/// <remarks>
/// Not Garnet's own <c>--aof-size-limit</c>: under concurrent writers a restart missed some acknowledged writes
/// (2.2.8 and 2.2.12: 73 to 1,238 of 48,000 worker-like transactions, in one run of three; <c>StoreBoundsTests</c>).
/// </remarks>
public sealed class EmbeddedStore(EmbeddedStoreOptions options, ILoggerFactory loggerFactory) : BackgroundService
{
    /// <summary>The append-only file's size past which the store compacts it.</summary>
    public const long AofSizeLimitBytes = 8L << 20;

    /// <summary>How often the append-only file's size is checked.</summary>
    public static readonly TimeSpan AofCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long the store waits after a failed compaction (a full disk, say) before it tries again.</summary>
    public static readonly TimeSpan CompactionRetryDelay = TimeSpan.FromSeconds(10);

    /// <summary>The file in the data folder that a running store holds locked (an exclusive flock on Linux).</summary>
    public const string LockFileName = "ramcoin-store.lock";

    private readonly ILogger _logger = loggerFactory.CreateLogger<EmbeddedStore>();
    private readonly Lock _serverLock = new();
    private CheckpointingGarnetServer? _server;
    private FileStream? _dataDirLock;

    /// <summary>How many times the append-only file was compacted while the store ran.</summary>
    public int Compactions { get; private set; }

    /// <summary>How many compactions failed (each is logged and tried again later).</summary>
    public int FailedCompactions { get; private set; }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (EmbeddedStoreOptions.IsOpen(options.Bind, options.Password))
        {
            // Allowed (RAMCOIN_ALLOW_OPEN_STORE), but never silent: the log says who can reach the wallet.
            _logger.LogWarning(
                "The store listens on {Bind}:{Port} without a password (RAMCOIN_ALLOW_OPEN_STORE): anyone who reaches that port can read and change the wallet",
                options.Bind, options.Port);
        }

        var arguments = Arguments(options);
        if (Persistent)
        {
            _dataDirLock = LockDataDir(Path.GetFullPath(options.DataDir!));
        }

        lock (_serverLock)
        {
            try
            {
                _server = StartServer(arguments);
            }
            catch
            {
                ReleaseDataDir();
                throw;
            }
        }

        return base.StartAsync(cancellationToken);
    }

    /// <summary>Watches the append-only file's size; compacts it past the limit. A failed compaction is retried later.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Persistent)
        {
            return;
        }

        using var timer = new PeriodicTimer(AofCheckInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var size = AofBytes();
            if (size <= AofSizeLimitBytes)
            {
                continue;
            }

            var clock = System.Diagnostics.Stopwatch.StartNew();
            var server = _server;
            if (server is null)
            {
                return;
            }

            CheckpointStatus status;
            Exception? failure = null;
            try
            {
                status = await server.CheckpointAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                (status, failure) = (CheckpointStatus.Failed, ex);
            }

            if (status == CheckpointStatus.Success)
            {
                Compactions++;
                _logger.LogInformation(
                    "Compacted the append-only file ({Size} MiB) into a checkpoint in {Elapsed} ms; clients stayed connected",
                    size >> 20, clock.ElapsedMilliseconds);
                continue;
            }

            // A full or read-only disk: the store goes on serving (writes answer errors until the disk is back).
            FailedCompactions++;
            _logger.LogWarning(failure,
                "Could not compact the append-only file ({Size} MiB, checkpoint {Status}); trying again in {Retry} s",
                size >> 20, status, CompactionRetryDelay.TotalSeconds);
            await Task.Delay(CompactionRetryDelay, stoppingToken);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        Dispose();
    }

    public override void Dispose()
    {
        lock (_serverLock)
        {
            // GarnetServer.Dispose throws when called twice.
            _server?.Dispose();
            _server = null;
            ReleaseDataDir();
        }

        base.Dispose();
    }

    private bool Persistent => !string.IsNullOrWhiteSpace(options.DataDir);

    /// <summary>
    /// Holds the data folder's lock file open with no sharing (an exclusive flock on Linux, released by the kernel if
    /// the process dies), so a second store on the folder stops at start instead of truncating the first one's writes.
    /// </summary>
    /// <exception cref="OptionsValidationException">Another store holds the folder: a bad setting (exit 2).</exception>
    private static FileStream LockDataDir(string dataDir)
    {
        var path = Path.Combine(dataDir, LockFileName);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (ex is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new OptionsValidationException(EmbeddedStoreOptions.DataDirSetting, typeof(EmbeddedStoreOptions),
                [$"{EmbeddedStoreOptions.DataDirSetting}: the data directory '{dataDir}' is in use by another store ({path} is locked); stop that store or choose another folder."]);
        }
    }

    private void ReleaseDataDir()
    {
        _dataDirLock?.Dispose();
        _dataDirLock = null;
    }

    /// <summary>The append-only file's segments on disk (Garnet keeps them in the data folder's AOF directory).</summary>
    private long AofBytes()
    {
        var folder = Path.Combine(Path.GetFullPath(options.DataDir!), "AOF");
        try
        {
            return Directory.Exists(folder) ? new DirectoryInfo(folder).EnumerateFiles("aof.log.*").Sum(f => f.Length) : 0;
        }
        catch (IOException)
        {
            return 0; // a segment removed while counted: the next check counts again
        }
    }

    private CheckpointingGarnetServer StartServer(string[] arguments)
    {
        var server = new CheckpointingGarnetServer(arguments, loggerFactory);
        try
        {
            server.Start();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
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
                // Recovery loads the last checkpoint and replays the AOF after it. Small segments: a checkpoint
                // truncates whole ones.
                "--aof-segment-size", "2m",
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
