using System.Net;
using Garnet.server;
using Garnet.server.Auth.Settings;
using Tsavorite.core;

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
/// A data folder that cannot be written (full, read-only) makes the store refuse writes with an error reply until it
/// can write again; a Garnet whose append-only file failed is replaced then, behind the same listening socket.
/// </remarks>
public sealed class EmbeddedStore(EmbeddedStoreOptions options, ILoggerFactory loggerFactory) : BackgroundService
{
    /// <summary>The append-only file's size past which the store compacts it.</summary>
    public const long AofSizeLimitBytes = 8L << 20;

    /// <summary>
    /// Free space under which the store refuses writes: a few log pages (2 MiB each) and a checkpoint (about 2 MiB), so
    /// that writes stop with an error reply before a write fails on the disk.
    /// </summary>
    public const long MinFreeBytes = 8L << 20;

    /// <summary>The file in the data folder that a running store holds locked (an exclusive flock on Linux).</summary>
    public const string LockFileName = "ramcoin-store.lock";

    /// <summary>How often the data folder and the append-only file are checked.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long the store waits after a failed compaction before it tries again.</summary>
    public static readonly TimeSpan CompactionRetryDelay = TimeSpan.FromSeconds(10);

    private readonly ILogger _logger = loggerFactory.CreateLogger<EmbeddedStore>();
    private readonly Lock _serverLock = new();
    private StoreListener? _listener;
    private EmbeddedGarnet? _server;
    private FileStream? _dataDirLock;
    private bool _aofFailed;
    private DateTime _nextCompaction;

    /// <summary>How many times the append-only file was compacted while the store ran.</summary>
    public int Compactions { get; private set; }

    /// <summary>How many times a Garnet whose append-only file failed was replaced.</summary>
    public int Restarts { get; private set; }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (EmbeddedStoreOptions.IsOpen(options.Bind, options.Password))
        {
            // Allowed (RAMCOIN_ALLOW_OPEN_STORE), but never silent: the log says who can reach the wallet.
            _logger.LogWarning(
                "The store listens on {Bind}:{Port} without a password (RAMCOIN_ALLOW_OPEN_STORE): anyone who reaches that port can read and change the wallet",
                options.Bind, options.Port);
        }

        if (Persistent)
        {
            _dataDirLock = LockDataDir(PrepareDataDir(options.DataDir!));
        }

        try
        {
            var garnet = ServerOptions(options, loggerFactory, quiet: false);
            _listener = new StoreListener(garnet, loggerFactory.CreateLogger("GarnetServer"));
            lock (_serverLock)
            {
                _server = StartGarnet(garnet, refuseWrites: false);
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        return base.StartAsync(cancellationToken);
    }

    /// <summary>
    /// Every second: refuses writes while the data folder cannot take them, replaces a Garnet whose append-only file
    /// failed once the folder is writable again, and compacts the file past its limit. Nothing here stops the store.
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Persistent)
        {
            return;
        }

        using var timer = new PeriodicTimer(CheckInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var server = _server;
            if (server is not null && !_aofFailed && await AofFailureAsync(server, stoppingToken) is { } failure)
            {
                _aofFailed = true;
                _logger.LogError("The append-only file could not be written ({Reason}); replacing Garnet, refusing writes until the data folder takes them", failure);
            }

            if (_aofFailed || server is null)
            {
                // A failed log also fails reads (every command waits for it): a new Garnet serves them, refusing writes.
                Restart();
                continue;
            }

            if (DiskRefusal(probe: server.WritesRefused) is { } refusal)
            {
                if (!server.WritesRefused)
                {
                    server.RefuseWrites(true);
                    _logger.LogError("Refusing writes: the data folder {DataDir} {Reason}", options.DataDir, refusal);
                }

                continue;
            }

            if (server.WritesRefused)
            {
                server.RefuseWrites(false);
                _logger.LogInformation("Accepting writes again: the data folder {DataDir} can be written", options.DataDir);
            }

            if (DateTime.UtcNow >= _nextCompaction && AofBytes() is var size && size > AofSizeLimitBytes)
            {
                await CompactAsync(server, size, stoppingToken);
            }
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
            _listener?.Shutdown();
            _listener = null;
            _dataDirLock?.Dispose();
            _dataDirLock = null;
        }

        base.Dispose();
    }

    private bool Persistent => !string.IsNullOrWhiteSpace(options.DataDir);

    private EmbeddedGarnet StartGarnet(GarnetServerOptions garnet, bool refuseWrites)
    {
        var server = new EmbeddedGarnet(garnet, loggerFactory, _listener!);
        try
        {
            // Before Start, so that no client write gets in before the refusal.
            server.RefuseWrites(refuseWrites);
            server.Start();
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Replaces a Garnet whose append-only file failed: the new one recovers what was on disk (every acknowledged write,
    /// since a write is answered only once it is there) behind the same listening socket.
    /// </summary>
    private void Restart()
    {
        lock (_serverLock)
        {
            try
            {
                _server?.Dispose();
            }
            catch (Exception ex)
            {
                _logger.LogWarning("Disposing the failed Garnet: {Reason}", ex.Message);
            }

            _server = null;
            try
            {
                // Writes stay refused until the next check finds the folder and the new file writable.
                _server = StartGarnet(ServerOptions(options, loggerFactory, quiet: true), refuseWrites: true);
                _aofFailed = false;
                Restarts++;
                _logger.LogWarning("Replaced the Garnet whose append-only file failed; it recovered the data folder {DataDir}", options.DataDir);
            }
            catch (Exception ex)
            {
                _logger.LogError("Could not restart Garnet on {DataDir} ({Reason}); trying again in a second", options.DataDir, ex.Message);
            }
        }
    }

    private async Task CompactAsync(EmbeddedGarnet server, long size, CancellationToken stoppingToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
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
            return;
        }

        _nextCompaction = DateTime.UtcNow + CompactionRetryDelay;
        _logger.LogWarning(failure, "Could not compact the append-only file ({Size} MiB, checkpoint {Status}); trying again in {Retry} s",
            size >> 20, status, CompactionRetryDelay.TotalSeconds);
    }

    /// <summary>Why the append-only file cannot be written, or null; a commit that takes long is not a failure.</summary>
    private static async Task<string?> AofFailureAsync(EmbeddedGarnet server, CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await server.CheckAppendOnlyFileAsync(timeout.Token);
            return null;
        }
        catch (OperationCanceledException)
        {
            stoppingToken.ThrowIfCancellationRequested();
            return null;
        }
        catch (Exception ex)
        {
            return ex.GetBaseException().Message;
        }
    }

    /// <summary>Why the data folder cannot take writes now, or null; <paramref name="probe"/> also writes a small file.</summary>
    private string? DiskRefusal(bool probe)
    {
        var dataDir = Path.GetFullPath(options.DataDir!);
        try
        {
            var free = new DriveInfo(dataDir).AvailableFreeSpace;
            if (free < MinFreeBytes)
            {
                return $"has {free >> 10} KiB free, under the {MinFreeBytes >> 20} MiB the store keeps for its log and checkpoints";
            }

            if (probe)
            {
                ProbeWrite(dataDir);
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"cannot be written ({ex.Message})";
        }
    }

    private static void ProbeWrite(string dataDir)
    {
        var path = Path.Combine(dataDir, ".ramcoin-write-test");
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write))
        {
            file.Write("ok"u8);
            file.Flush(flushToDisk: true);
        }

        File.Delete(path);
    }

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

    /// <summary>Garnet's typed options for these settings; the sizes are the ones measured to work on small machines.</summary>
    internal static GarnetServerOptions ServerOptions(EmbeddedStoreOptions options, ILoggerFactory loggerFactory, bool quiet)
    {
        var logger = loggerFactory.CreateLogger("Garnet");
        var garnet = new GarnetServerOptions(logger)
        {
            EndPoints = [new IPEndPoint(IPAddress.Parse(options.Bind), options.Port)],
            // Small memory: a coin miner stores a counter and a wallet, not gigabytes.
            LogMemorySize = "64m",
            PageSize = "1m",
            IndexMemorySize = "1m",
            QuietMode = quiet,
            AuthSettings = string.IsNullOrEmpty(options.Password) ? new NoAuthSettings() : new PasswordAuthenticationSettings(options.Password),
            // The native device library needs a newer glibc than some machines have.
            DeviceFactoryCreator = new LocalStorageNamedDeviceFactoryCreator(deviceType: DeviceType.RandomAccess, numCompletionThreads: 4, logger: logger),
        };
        if (!string.IsNullOrWhiteSpace(options.DataDir))
        {
            // Commit every write, and answer only once it is written: an acknowledged write survives kill -9.
            // Writes are rare here (a worker flushes once a second), so the latency costs nothing that shows.
            garnet.EnableAOF = true;
            garnet.CommitFrequencyMs = 0;
            garnet.WaitForCommit = true;
            garnet.AofMemorySize = "4m";
            garnet.AofPageSize = "2m";
            // Small segments: a checkpoint truncates whole ones.
            garnet.AofSegmentSize = "2m";
            // Recovery loads the last checkpoint and replays the AOF after it.
            garnet.CheckpointDir = Path.GetFullPath(options.DataDir);
            garnet.Recover = true;
        }

        return garnet;
    }

    private static string PrepareDataDir(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(full);
            // Prove it is writable now, rather than failing on the first write.
            ProbeWrite(full);
            return full;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"data directory '{full}' is not usable: {ex.Message}", ex);
        }
    }
}
