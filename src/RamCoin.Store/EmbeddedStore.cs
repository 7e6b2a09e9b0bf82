using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Garnet;

namespace RamCoin.Store;

/// <summary>
/// Microsoft Garnet in this process, speaking RESP on a TCP port like any Redis. With a data folder it keeps
/// an append-only file committed on every write and recovers it at start; once the file passes
/// <see cref="AofSizeLimitBytes"/> it is compacted into a checkpoint while no client is connected (<see cref="Compact"/>).
/// </summary>
/// <remarks>
/// Not Garnet's own <c>--aof-size-limit</c>: it checkpoints while clients write, and a restart then missed some
/// acknowledged writes (measured here, 2.2.8 and 2.2.12: 73 to 1,238 of 48,000 worker-like transactions, in one run of
/// three; <c>StoreBoundsTests</c>). A checkpoint taken with nobody writing lost none.
/// </remarks>
public sealed class EmbeddedStore(EmbeddedStoreOptions options, ILoggerFactory loggerFactory) : BackgroundService
{
    /// <summary>The append-only file's size past which the store compacts it.</summary>
    public const long AofSizeLimitBytes = 8L << 20;

    /// <summary>How often the append-only file's size is checked.</summary>
    public static readonly TimeSpan AofCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>Garnet's option that leaves out its banner: once, at the store's first start, is enough.</summary>
    private const string Quiet = "-q";

    private readonly ILogger _logger = loggerFactory.CreateLogger<EmbeddedStore>();
    private readonly Lock _serverLock = new();
    private GarnetServer? _server;

    /// <summary>How many times the append-only file was compacted while the store ran (not counting at start).</summary>
    public int Compactions { get; private set; }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (EmbeddedStoreOptions.IsOpen(options.Bind, options.Password))
        {
            // Allowed (RAMCOIN_ALLOW_OPEN_STORE), but never silent: the log says who can reach the wallet.
            _logger.LogWarning(
                "The store listens on {Bind}:{Port} without a password (RAMCOIN_ALLOW_OPEN_STORE): anyone who reaches that port can read and change the wallet",
                options.Bind, options.Port);
        }

        if (Persistent && AofBytes() > AofSizeLimitBytes)
        {
            Compact();
        }

        lock (_serverLock)
        {
            _server = StartServer(Arguments(options));
        }

        return base.StartAsync(cancellationToken);
    }

    /// <summary>Watches the append-only file's size; compacts it past the limit. A failure here stops the host (non-zero exit).</summary>
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
            lock (_serverLock)
            {
                if (stoppingToken.IsCancellationRequested)
                {
                    return;
                }

                // Clients are cut off for the moment it takes; they reconnect and retry as after any store restart, and
                // the worker's flushes are conditional (exactly once), so nothing is lost or counted twice.
                _server?.Dispose();
                _server = null;
                Compact();
                _server = StartServer([.. Arguments(options), Quiet]);
            }

            // The two Garnets just disposed leave their log pages (pinned arrays) to the GC, which otherwise keeps them
            // for a while (measured: 180-280 MiB instead of 146 after nine compactions); this is once in hours.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            Compactions++;
            _logger.LogInformation(
                "Compacted the append-only file ({Size} MiB) into a checkpoint; clients were cut off for {Elapsed} ms; GC heap {Heap} MiB",
                size >> 20, clock.ElapsedMilliseconds, GC.GetTotalMemory(forceFullCollection: false) >> 20);
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
        }

        base.Dispose();
    }

    private bool Persistent => !string.IsNullOrWhiteSpace(options.DataDir);

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

    /// <summary>
    /// Recovers the data folder in a Garnet of its own, on a loopback port with a one-time password that no client
    /// knows, and saves a checkpoint there, which truncates the append-only file behind it. Nobody writes meanwhile.
    /// </summary>
    private void Compact()
    {
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var port = FreeLoopbackPort();
        using var server = StartServer([.. Arguments(options with { Bind = "127.0.0.1", Port = port, Password = password }), Quiet]);
        using var client = new TcpClient();
        client.Connect(IPAddress.Loopback, port);
        client.ReceiveTimeout = client.SendTimeout = 60_000;
        using var stream = client.GetStream();
        stream.Write(Encoding.ASCII.GetBytes($"*2\r\n$4\r\nAUTH\r\n${password.Length}\r\n{password}\r\n*1\r\n$4\r\nSAVE\r\n"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        foreach (var command in new[] { "AUTH", "SAVE" })
        {
            var reply = reader.ReadLine();
            if (reply != "+OK")
            {
                throw new InvalidOperationException($"compacting the store's data folder: {command} answered '{reply}'");
            }
        }
    }

    private GarnetServer StartServer(string[] arguments)
    {
        var server = new GarnetServer(arguments, loggerFactory);
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

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
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
