using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace RamCoin.Tests.Infrastructure;

/// <summary>A real RESP store on a loopback port: our embedded Garnet, or Debian's redis-server.</summary>
public sealed class StoreServer : IAsyncDisposable
{
    private readonly IHost? _garnet;
    private readonly Process? _redis;
    private readonly LauncherProcess? _launcher;
    private ConnectionMultiplexer? _client;
    private string? _password;
    private string? _ownedDataDir;

    private StoreServer(int port, IHost? garnet, Process? redis, LauncherProcess? launcher = null)
    {
        Port = port;
        _garnet = garnet;
        _redis = redis;
        _launcher = launcher;
    }

    public int Port { get; }

    public string Kind => _redis is null ? "garnet" : "redis-server";

    /// <summary>A hosted part of an in-process Garnet (null for the other kinds).</summary>
    public T? Get<T>() where T : class => _garnet?.Services.GetServices<IHostedService>().OfType<T>().FirstOrDefault();

    /// <summary>What a <c>ramcoin store</c> process printed so far (empty for the others).</summary>
    public string Log => _launcher is null ? "" : _launcher.Output + _launcher.Error;

    /// <summary>Peers for a service under test: this store, and the given rng and hasher.</summary>
    public PeerAddresses Peers(Uri? rng = null, Uri? hasher = null) =>
        new(rng?.ToString() ?? "http://rng", hasher?.ToString() ?? "http://hasher", "127.0.0.1", Port);

    public async Task<IDatabase> DatabaseAsync()
    {
        _client ??= await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions { EndPoints = { { "127.0.0.1", Port } }, Password = _password });
        return _client.GetDatabase();
    }

    public static Task<StoreServer> StartAsync(string kind) =>
        kind == "redis-server" ? StartRedisAsync() : StartGarnetAsync();

    public static async Task<StoreServer> StartGarnetAsync(string? dataDir = null, int? port = null, string? password = null)
    {
        port ??= FreePort.Next();
        var host = Targets.Build(new ServiceConfiguration
        {
            Service = ServiceNames.Store,
            Variables = new Dictionary<string, string?>
            {
                ["RAMCOIN_STORE_PORT"] = port.Value.ToString(CultureInfo.InvariantCulture),
                ["RAMCOIN_DATA_DIR"] = dataDir ?? "",
                ["REDIS_PASSWORD"] = password,
            },
        });
        await host.StartAsync(TestContext.Current.CancellationToken);
        return new StoreServer(port.Value, host, null) { _password = password };
    }

    /// <summary>
    /// A store in its own process that a test can kill -9: <c>ramcoin store</c> (embedded Garnet) or
    /// redis-server, persisting to <paramref name="dataDir"/> with every write on disk before it is acknowledged.
    /// </summary>
    public static async Task<StoreServer> StartProcessAsync(string kind, int port, string dataDir)
    {
        if (kind == "redis-server")
        {
            return await StartRedisAsync(port, dataDir);
        }

        var launcher = LauncherProcess.Start(["store", "--store-port", port.ToString(CultureInfo.InvariantCulture), "--data-dir", dataDir]);
        await launcher.WaitForOutputAsync("RamCoin is running");
        return new StoreServer(port, null, null, launcher);
    }

    /// <summary>
    /// <see cref="StartProcessAsync"/> on a free port and a temporary data folder of its own, which
    /// <see cref="RestartAsync"/> keeps and disposing deletes.
    /// </summary>
    public static Task<StoreServer> StartPersistentAsync(string kind) =>
        OnOwnDataDirAsync(dataDir => StartProcessAsync(kind, FreePort.Next(), dataDir));

    /// <summary>An in-process Garnet on a free port, persisting to a temporary data folder of its own, which disposing deletes.</summary>
    public static Task<StoreServer> StartPersistentGarnetAsync() => OnOwnDataDirAsync(dataDir => StartGarnetAsync(dataDir));

    /// <summary>The data folder of a store that owns one (<see cref="StartPersistentAsync"/>, <see cref="StartPersistentGarnetAsync"/>).</summary>
    public string DataDir => _ownedDataDir ?? throw new InvalidOperationException("this store has no data folder of its own");

    private static async Task<StoreServer> OnOwnDataDirAsync(Func<string, Task<StoreServer>> start)
    {
        var dataDir = Directory.CreateTempSubdirectory("ramcoin-store-").FullName;
        try
        {
            var server = await start(dataDir);
            server._ownedDataDir = dataDir;
            return server;
        }
        catch
        {
            Directory.Delete(dataDir, recursive: true);
            throw;
        }
    }

    /// <summary>Stops a <see cref="StartPersistentAsync"/> store (if a kill has not) and starts it again on its port and data folder.</summary>
    public async Task<StoreServer> RestartAsync()
    {
        var dataDir = (_garnet is null ? _ownedDataDir : null)
            ?? throw new InvalidOperationException("only a store from StartPersistentAsync restarts on its own data");
        _ownedDataDir = null;
        await DisposeAsync();
        var server = await StartProcessAsync(Kind, Port, dataDir);
        server._ownedDataDir = dataDir;
        return server;
    }

    /// <summary>SIGKILL: no shutdown, no last write; what survives is what was on disk.</summary>
    public async Task KillAsync()
    {
        var process = _redis ?? _launcher?.Process ?? throw new InvalidOperationException("an in-process store cannot be killed");
        process.Kill();
        await process.WaitForExitAsync();
        if (_client is not null)
        {
            await _client.DisposeAsync();
            _client = null;
        }
    }

    public static async Task<StoreServer> StartRedisAsync(int? fixedPort = null, string? dataDir = null)
    {
        var path = RedisServerPath
            ?? throw new InvalidOperationException("redis-server is not installed (apt-get install -y redis-server; .ci/run does it).");
        var port = fixedPort ?? FreePort.Next();
        var info = new ProcessStartInfo(path)
        {
            ArgumentList = { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in dataDir is null ? ["--appendonly", "no"] : new[] { "--appendonly", "yes", "--appendfsync", "always", "--dir", dataDir })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new StoreServer(port, null, process);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await (await server.DatabaseAsync()).PingAsync();
                return server;
            }
            catch (Exception ex) when (NotReadyYet(ex))
            {
                if (DateTime.UtcNow >= deadline || process.HasExited)
                {
                    await server.DisposeAsync(); // never leave a redis-server behind
                    lock (log)
                    {
                        throw new InvalidOperationException($"redis-server did not start on port {port}: {log}", ex);
                    }
                }

                server._client?.Dispose();
                server._client = null;
                await Task.Delay(50);
            }
        }
    }

    /// <summary>
    /// Not listening yet, or listening and still replaying its append-only file: it answers LOADING to everything
    /// then (seen on a loaded machine after a restart on the same data).
    /// </summary>
    private static bool NotReadyYet(Exception ex) =>
        ex is RedisConnectionException
        || (ex is RedisServerException && ex.Message.StartsWith("LOADING", StringComparison.Ordinal));

    /// <summary>Where Debian puts redis-server; null when it is not installed.</summary>
    public static string? RedisServerPath => File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : null;

    /// <summary>Why a redis-server test is skipped on a machine without it.</summary>
    public const string NoRedisServer = "redis-server is not installed: run 'apt-get install -y redis-server' (bash .ci/run installs it).";

    /// <summary>Skips a redis-server test with the reason, on a machine without it (CI installs it and fails on skips).</summary>
    public static void SkipUnlessRedisInstalled(string kind)
    {
        if (kind == "redis-server" && RedisServerPath is null)
        {
            Assert.Skip(NoRedisServer);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        if (_garnet is not null)
        {
            await _garnet.StopAsync(CancellationToken.None);
            _garnet.Dispose();
        }

        if (_launcher is not null)
        {
            await _launcher.DisposeAsync();
        }

        if (_redis is not null && !_redis.HasExited)
        {
            _redis.Kill();
            await _redis.WaitForExitAsync();
            _redis.Dispose();
        }

        if (_ownedDataDir is not null)
        {
            Directory.Delete(_ownedDataDir, recursive: true);
        }
    }
}
