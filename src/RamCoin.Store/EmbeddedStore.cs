using Garnet.server;

namespace RamCoin.Store;

/// <summary>
/// Microsoft Garnet in this process, speaking RESP on a TCP port like any Redis. With a data folder (locked while the
/// store runs, <see cref="DataFolder"/>) it keeps an append-only file committed on every write and recovers it at
/// start; once the file passes <see cref="AofSizeLimitBytes"/> it is compacted into a checkpoint taken by the running
/// server, which keeps its port and its clients meanwhile.
/// </summary>
/// <remarks>
/// Not Garnet's own <c>--aof-size-limit</c>: under concurrent writers a restart once missed acknowledged writes
/// (docs/garnet-aof-size-limit.md).
/// A data folder that cannot take writes (full, read-only) makes the store refuse writes with an error reply until it
/// can again; a Garnet whose append-only file failed is replaced at once, behind the same listening socket.
/// </remarks>
public sealed class EmbeddedStore(IOptions<EmbeddedStoreOptions> configured, ILoggerFactory loggerFactory) : BackgroundService
{
    /// <summary>The append-only file's size past which the store compacts it.</summary>
    public const long AofSizeLimitBytes = 8L << 20;

    /// <summary>Free space under which the store refuses writes: a few log pages (2 MiB each) and a checkpoint (about
    /// 2 MiB), so that writes stop with an error reply before one fails on the disk.</summary>
    public const long MinFreeBytes = 8L << 20;

    /// <summary>How often the data folder is checked.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>How often the append-only file is checked: a Garnet whose file failed holds writes that are not on disk,
    /// so its clients get error replies at once, before one retries and reads them (StackExchange.Redis: 250 ms).</summary>
    public static readonly TimeSpan AofCheckInterval = TimeSpan.FromMilliseconds(25);

    /// <summary>How long the store waits after a failed compaction before it tries again.</summary>
    public static readonly TimeSpan CompactionRetryDelay = TimeSpan.FromSeconds(10);

    private readonly ILogger _logger = loggerFactory.CreateLogger<EmbeddedStore>();

    /// <summary>Bound and checked at the host's start, before this service starts.</summary>
    private EmbeddedStoreOptions Options => configured.Value;
    private DataFolder? _dataFolder;
    private StoreListener? _listener;
    private EmbeddedGarnet? _server;
    private volatile bool _aofFailed;
    private string? _aofFailure;
    private volatile bool _standIn;
    private volatile bool _stopped;
    private DateTime _nextCompaction;

    /// <summary>How many times the append-only file was compacted while the store ran.</summary>
    public int Compactions { get; private set; }

    /// <summary>How many times a Garnet whose append-only file failed was replaced.</summary>
    public int Restarts { get; private set; }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (EmbeddedStoreOptions.IsOpen(Options.Bind, Options.Password))
        {
            // Allowed (RAMCOIN_ALLOW_OPEN_STORE), but never silent: the log says who can reach the wallet.
            _logger.LogWarning(
                "The store listens on {Bind}:{Port} without a password (RAMCOIN_ALLOW_OPEN_STORE): anyone who reaches that port can read and change the wallet",
                Options.Bind, Options.Port);
        }

        try
        {
            _dataFolder = string.IsNullOrWhiteSpace(Options.DataDir) ? null : DataFolder.Open(Options.DataDir);
            var garnet = Options.GarnetOptions(loggerFactory, quiet: false);
            _listener = new StoreListener(garnet, loggerFactory.CreateLogger("GarnetServer"));
            _server = StartGarnet(garnet, refuseWrites: false);
        }
        catch
        {
            Dispose();
            throw;
        }

        return base.StartAsync(cancellationToken);
    }

    /// <summary>Checks the append-only file and the data folder every second; nothing here stops the store.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_dataFolder is not { } folder)
        {
            return;
        }

        var watch = WatchAppendOnlyFileAsync(stoppingToken);
        using var timer = new PeriodicTimer(CheckInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await CheckAsync(folder, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _logger.LogError(ex, "Checking the store's data folder failed; checking again in a second");
            }
        }

        await watch;
    }

    /// <summary>Answers every client with an error as soon as the append-only file fails; the next check replaces the Garnet.</summary>
    private async Task WatchAppendOnlyFileAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(AofCheckInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var server = _server;
            if (server is null || _aofFailed || _standIn || await server.AppendOnlyFileFailureAsync(stoppingToken) is not { } failure)
            {
                continue;
            }

            if (ReferenceEquals(server, _server))
            {
                // Before anyone reads from it what it could not write: reads too go nowhere until the next Garnet.
                _listener?.Suspend();
                _aofFailure = failure;
                _aofFailed = true;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        Dispose();
    }

    /// <remarks>
    /// No lock: each field is taken out once (GarnetServer.Dispose throws when called twice); a Garnet that
    /// <see cref="Restart"/> starts meanwhile sees <see cref="_stopped"/> and disposes itself.
    /// </remarks>
    public override void Dispose()
    {
        _stopped = true;
        Interlocked.Exchange(ref _server, null)?.Dispose();
        Interlocked.Exchange(ref _listener, null)?.Shutdown();
        Interlocked.Exchange(ref _dataFolder, null)?.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// Refuses writes while the folder cannot take them, replaces a Garnet whose append-only file failed, accepts writes
    /// again once the folder can take them, and compacts the file past its limit.
    /// </summary>
    private async Task CheckAsync(DataFolder folder, CancellationToken stoppingToken)
    {
        var server = _server;
        if (_aofFailed)
        {
            _logger.LogError("The append-only file could not be written ({Reason}); replacing Garnet, refusing writes until the data folder takes them", _aofFailure);
        }

        if (_aofFailed || server is null || (_standIn && folder.FilesOpenForWriting()))
        {
            // A failed log fails every later command, reads too: a new Garnet serves them, refusing writes.
            Restart(folder);
            return;
        }

        if (_standIn)
        {
            return;
        }

        if (folder.WriteRefusal(MinFreeBytes, probe: server.WritesRefused) is { } refusal)
        {
            if (!server.WritesRefused)
            {
                server.RefuseWrites(true);
                _logger.LogError("Refusing writes: the data folder {DataDir} {Reason}", folder.Path, refusal);
            }

            return;
        }

        if (server.WritesRefused)
        {
            server.RefuseWrites(false);
            _logger.LogInformation("Accepting writes again: the data folder {DataDir} can be written", folder.Path);
        }

        if (DateTime.UtcNow >= _nextCompaction && folder.AofBytes() is var size && size > AofSizeLimitBytes)
        {
            await CompactAsync(server, size, stoppingToken);
        }
    }

    private EmbeddedGarnet StartGarnet(GarnetServerOptions garnet, bool refuseWrites, bool refuseData = false)
    {
        var server = new EmbeddedGarnet(garnet, loggerFactory, _listener!);
        try
        {
            // Before Start, so that no client command gets in before the refusal.
            server.RefuseWrites(refuseWrites);
            if (refuseData)
            {
                server.RefuseData();
            }

            server.Start();
            _listener!.Open();
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
    /// since a write is answered only once it is there) behind the same listening socket. Its clients reconnect.
    /// While the folder's files cannot be opened for writing (read-only), Garnet cannot open them to recover: a stand-in
    /// without data refuses every data command with an error reply until they can, and is then replaced in turn.
    /// </summary>
    private void Restart(DataFolder folder)
    {
        var recover = folder.FilesOpenForWriting();
        try
        {
            Interlocked.Exchange(ref _server, null)?.Dispose();
        }
        catch (Exception ex)
        {
            _logger.LogWarning("Disposing the failed Garnet: {Reason}", ex.Message);
        }

        if (_stopped)
        {
            return;
        }

        try
        {
            // Writes stay refused until the next check finds the folder writable.
            var fresh = recover
                ? StartGarnet(Options.GarnetOptions(loggerFactory, quiet: true), refuseWrites: true)
                : StartGarnet((Options with { DataDir = null }).GarnetOptions(loggerFactory, quiet: true), refuseWrites: false, refuseData: true);
            Volatile.Write(ref _server, fresh);
            if (_stopped)
            {
                // The store stopped while this one started: whichever of the two takes it out disposes it.
                Interlocked.Exchange(ref _server, null)?.Dispose();
                return;
            }

            _aofFailed = false;
            _standIn = !recover;
            Restarts++;
            if (recover)
            {
                _logger.LogWarning("Replaced the Garnet whose append-only file failed; it recovered the data folder {DataDir}", Options.DataDir);
            }
            else
            {
                _logger.LogError("The data folder {DataDir} cannot be opened for writing, so Garnet cannot recover it: refusing every command on data until it can", Options.DataDir);
            }
        }
        catch (Exception ex)
        {
            _logger.LogError("Could not start Garnet on {DataDir} ({Reason}); trying again in a second", Options.DataDir, ex.Message);
        }
    }

    private async Task CompactAsync(EmbeddedGarnet server, long size, CancellationToken stoppingToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Exception? failure = null;
        CheckpointStatus status;
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
}
