using System.Diagnostics;
using System.Globalization;
using System.Net;
using Garnet;
using Garnet.server;
using StackExchange.Redis;
using Tsavorite.core;

namespace RamCoin.Bench;

/// <summary>How the append-only file is kept bounded in one run of <see cref="GarnetAofSizeLimit"/>.</summary>
public enum AofBound
{
    /// <summary>Garnet's own <c>AofSizeLimit</c> ("8m", enforced every second): its background task checkpoints.</summary>
    SizeLimit,

    /// <summary>A checkpoint taken on the server object (<c>StoreWrapper.TakeCheckpointAsync</c>) once the file passes 8 MiB, checked every second.</summary>
    InProcess,

    /// <summary>No bound: the file only grows (the control).</summary>
    None,
}

/// <summary>
/// docs/garnet-aof-size-limit.md's reproduction: an embedded Garnet (typed options, AOF committed on every write, the
/// client answered only once it is written), 16 writers each sending worker-like transactions (WATCH of a ledger
/// field, then MULTI: INCRBY on a string key, four HSET/HINCRBY on hash keys); then a clean restart with recovery. Every acknowledged transaction
/// added 3 to <c>hashes</c>, so after the restart <c>hashes</c> should be 3 × acknowledged.
/// </summary>
public static class GarnetAofSizeLimit
{
    private const long LimitBytes = 8L << 20;

    public static async Task<int> RunAsync(IReadOnlyList<AofBound> bounds, int runs, int transactions, bool kill, CancellationToken cancellationToken)
    {
        var lossy = 0;
        foreach (var bound in bounds)
        {
            for (var run = 1; run <= runs; run++)
            {
                var (acknowledged, recovered, checkpoints, seconds) = await RunOnceAsync(bound, transactions, kill, cancellationToken);
                var lost = acknowledged - recovered;
                lossy += lost != 0 ? 1 : 0;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{bound,-9} run {run}: {acknowledged} transactions acknowledged in {seconds:F1} s, {checkpoints} checkpoints; after {(kill ? "kill -9" : "a clean stop")} and a restart {recovered} there: {(lost == 0 ? "none lost" : $"{lost} LOST")}"));
            }
        }

        return lossy == 0 ? 0 : 1;
    }

    /// <summary>The server of a <c>--kill</c> run, in a process of its own: serves until it is killed.</summary>
    public static async Task<int> ServeAsync(AofBound bound, string dataDir, int port)
    {
        using var server = new CheckpointingGarnet(Options(dataDir, port, bound));
        server.Start();
        var checkpoints = 0;
        Console.WriteLine("ready");
        await CheckpointsAsync(server, bound, () => Console.WriteLine($"checkpoint {++checkpoints}"), CancellationToken.None);
        return 0;
    }

    private static async Task<(long Acknowledged, long Recovered, int Checkpoints, double Seconds)> RunOnceAsync(AofBound bound, int transactions, bool kill, CancellationToken cancellationToken)
    {
        var dataDir = Directory.CreateTempSubdirectory("garnet-aof-limit-").FullName;
        try
        {
            var port = Ports.Next();
            var checkpoints = 0;
            var clock = Stopwatch.StartNew();
            long acknowledged;
            if (kill)
            {
                using var child = Process.Start(new ProcessStartInfo("dotnet", [typeof(GarnetAofSizeLimit).Assembly.Location, "garnet-aof-size-limit", "--bounds", bound.ToString(), "--serve-dir", dataDir, "--serve-port", port.ToString(CultureInfo.InvariantCulture)]) { RedirectStandardOutput = true })!;
                var ready = new TaskCompletionSource();
                child.OutputDataReceived += (_, e) =>
                {
                    checkpoints += e.Data?.StartsWith("checkpoint", StringComparison.Ordinal) == true ? 1 : 0;
                    if (e.Data == "ready")
                    {
                        ready.TrySetResult();
                    }
                };
                child.BeginOutputReadLine();
                try
                {
                    await ready.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
                    acknowledged = await WriteAsync(port, transactions, cancellationToken);
                }
                finally
                {
                    // SIGKILL: no shutdown, no last commit or checkpoint.
                    child.Kill();
                    await child.WaitForExitAsync(CancellationToken.None);
                }
            }
            else
            {
                using var server = new CheckpointingGarnet(Options(dataDir, port, bound));
                server.Start();
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var checker = CheckpointsAsync(server, bound, () => checkpoints++, stop.Token);
                acknowledged = await WriteAsync(port, transactions, cancellationToken);
                await stop.CancelAsync();
                await checker;
            }

            var seconds = clock.Elapsed.TotalSeconds;
            using var restarted = new GarnetServer(Options(dataDir, port, AofBound.None));
            restarted.Start();
            using var again = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}");
            var hashes = (long)await again.GetDatabase().StringGetAsync("hashes");
            return (acknowledged, hashes / 3, checkpoints, seconds);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>The 16 writers; answers how many transactions were acknowledged.</summary>
    private static async Task<long> WriteAsync(int port, int transactions, CancellationToken cancellationToken)
    {
        long acknowledged = 0;
        using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}");
        var db = redis.GetDatabase();
        var next = 0;
        var telemetry = new string('t', 700);
        await Task.WhenAll(Enumerable.Range(0, 16).Select(writer => Task.Run(async () =>
        {
            int i, previous = 0;
            while ((i = Interlocked.Increment(ref next)) <= transactions)
            {
                // The worker's exactly-once ledger: WATCH on the writer's ledger field, checked, then MULTI/EXEC.
                var transaction = db.CreateTransaction();
                transaction.AddCondition(previous == 0 ? Condition.HashNotExists("worker:flushes", $"w{writer}") : Condition.HashEqual("worker:flushes", $"w{writer}", previous));
                _ = transaction.StringIncrementAsync("hashes", 3);
                _ = transaction.HashIncrementAsync("worker:hashes", "w", 3);
                _ = transaction.HashSetAsync("worker:seen", "w", i);
                _ = transaction.HashSetAsync("worker:flushes", $"w{writer}", i);
                _ = transaction.HashSetAsync("worker:telemetry", "w", telemetry);
                if (i % 16 == 0)
                {
                    _ = transaction.HashSetAsync("wallet", $"{i:x64}", new byte[32]);
                }

                if (!await transaction.ExecuteAsync())
                {
                    throw new InvalidOperationException($"writer {writer}: its own ledger condition failed at {i}");
                }

                Interlocked.Increment(ref acknowledged);
                previous = i;
            }
        }, cancellationToken)));
        return acknowledged;
    }

    private static GarnetServerOptions Options(string dataDir, int port, AofBound bound)
    {
        var options = new GarnetServerOptions
        {
            EndPoints = [new IPEndPoint(IPAddress.Loopback, port)],
            LogMemorySize = "64m",
            PageSize = "1m",
            IndexMemorySize = "1m",
            QuietMode = true,
            DeviceFactoryCreator = new LocalStorageNamedDeviceFactoryCreator(deviceType: DeviceType.RandomAccess),
            EnableAOF = true,
            CommitFrequencyMs = 0,
            WaitForCommit = true,
            AofMemorySize = "4m",
            AofPageSize = "2m",
            AofSegmentSize = "2m",
            CheckpointDir = dataDir,
            Recover = true,
        };
        if (bound == AofBound.SizeLimit)
        {
            options.AofSizeLimit = "8m";
            options.AofSizeLimitEnforceFrequencySecs = 1;
        }

        return options;
    }

    /// <summary>In process: a checkpoint once a second when past the limit. Otherwise counts Garnet's own (the file shrinks).</summary>
    private static async Task CheckpointsAsync(CheckpointingGarnet server, AofBound bound, Action taken, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(bound == AofBound.InProcess ? 1000 : 100));
        var size = 0L;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                if (bound == AofBound.InProcess && server.AofSize > LimitBytes && await server.CheckpointAsync() == CheckpointStatus.Success)
                {
                    taken();
                }
                else if (bound != AofBound.InProcess && server.AofSize is var now && now < size - (1L << 20))
                {
                    taken();
                }

                size = server.AofSize;
            }
        }
        catch (OperationCanceledException)
        {
            // the writers are done
        }
    }

    /// <summary>A Garnet whose checkpoint is taken on the server object, as the store does.</summary>
    private sealed class CheckpointingGarnet(GarnetServerOptions options) : GarnetServer(options)
    {
        public long AofSize => storeWrapper.AofSize();

        public Task<CheckpointStatus> CheckpointAsync() => storeWrapper.TakeCheckpointAsync(background: false);
    }
}
