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
/// client answered only once it is written), 16 writers each sending worker-like transactions (MULTI: INCRBY on a
/// string key, four HSET/HINCRBY on hash keys); then a clean restart with recovery. Every acknowledged transaction
/// added 3 to <c>hashes</c>, so after the restart <c>hashes</c> should be 3 × acknowledged.
/// </summary>
public static class GarnetAofSizeLimit
{
    private const long LimitBytes = 8L << 20;

    public static async Task<int> RunAsync(IReadOnlyList<AofBound> bounds, int runs, int transactions, CancellationToken cancellationToken)
    {
        var lossy = 0;
        foreach (var bound in bounds)
        {
            for (var run = 1; run <= runs; run++)
            {
                var (acknowledged, recovered, checkpoints, seconds) = await RunOnceAsync(bound, transactions, cancellationToken);
                var lost = acknowledged - recovered;
                lossy += lost != 0 ? 1 : 0;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{bound,-9} run {run}: {acknowledged} transactions acknowledged in {seconds:F1} s, {checkpoints} checkpoints; after a clean restart {recovered} there: {(lost == 0 ? "none lost" : $"{lost} LOST")}"));
            }
        }

        return lossy == 0 ? 0 : 1;
    }

    private static async Task<(long Acknowledged, long Recovered, int Checkpoints, double Seconds)> RunOnceAsync(AofBound bound, int transactions, CancellationToken cancellationToken)
    {
        var dataDir = Directory.CreateTempSubdirectory("garnet-aof-limit-").FullName;
        try
        {
            var port = Ports.Next();
            long acknowledged = 0;
            var checkpoints = 0;
            var clock = Stopwatch.StartNew();
            using (var server = new CheckpointingGarnet(Options(dataDir, port, bound)))
            {
                server.Start();
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var checker = CheckpointsAsync(server, bound, () => checkpoints++, stop.Token);
                using (var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}"))
                {
                    var db = redis.GetDatabase();
                    var next = 0;
                    var telemetry = new string('t', 700);
                    await Task.WhenAll(Enumerable.Range(0, 16).Select(writer => Task.Run(async () =>
                    {
                        int i;
                        while ((i = Interlocked.Increment(ref next)) <= transactions)
                        {
                            var transaction = db.CreateTransaction();
                            _ = transaction.StringIncrementAsync("hashes", 3);
                            _ = transaction.HashIncrementAsync("worker:hashes", "w", 3);
                            _ = transaction.HashSetAsync("worker:seen", "w", i);
                            _ = transaction.HashSetAsync("worker:flushes", $"w{writer}", i);
                            _ = transaction.HashSetAsync("worker:telemetry", "w", telemetry);
                            if (await transaction.ExecuteAsync())
                            {
                                Interlocked.Increment(ref acknowledged);
                            }
                        }
                    }, cancellationToken)));
                }

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
