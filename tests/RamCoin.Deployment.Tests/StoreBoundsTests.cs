using RamCoin.StoreContract;
using StackExchange.Redis;

namespace RamCoin.Tests;

/// <summary>A week of mining in seconds: the embedded store's data directory stays bounded and keeps every acknowledged write.</summary>
public sealed class StoreBoundsTests
{
    /// <summary>About 1 KB each, like a worker's flush: 48 MB of append-only file, six times the 8 MiB limit.</summary>
    private const int Flushes = 48_000;

    /// <summary>
    /// The AOF limit (8 MiB), a 2 MiB segment, and the checkpoint (1 MiB index and the data, under 1 MiB here); what
    /// arrives in the seconds until Garnet has checked, checkpointed and truncated comes on top (<see cref="Bound"/>). A real worker writes
    /// about 1 KB a second, so that part is nothing outside this test.
    /// </summary>
    private const long FixedBoundBytes = 12L << 20;

    private const int FlushBytes = 1024;

    [Fact]
    public async Task TheEmbeddedStoresDataDirectoryStaysBoundedOverManyWritesAndKeepsThemAcrossARestart()
    {
        var dataDir = Directory.CreateTempSubdirectory("ramcoin-bounds-").FullName;
        try
        {
            long largest, bound;
            var port = FreePort.Next();
            await using (var store = await StoreServer.StartGarnetAsync(dataDir, port))
            {
                (largest, bound) = await WriteFlushesAsync(await store.DatabaseAsync(), dataDir, "garnet");
            }

            Assert.True(largest < bound, $"the data directory reached {largest >> 10} KiB; the bound is {bound >> 10} KiB");
            await using var restarted = await ReleasedPort.StartAsync(() => StoreServer.StartGarnetAsync(dataDir, port));
            await AssertEveryFlushIsThereAsync(await restarted.DatabaseAsync());
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>
    /// The embedded Garnet's own guarantee (a real Redis bounds its AOF by rewriting it; FaultTests kill one): the
    /// store is killed after its AOF has been truncated behind checkpoints several times.
    /// </summary>
    [Fact]
    public async Task EveryAcknowledgedWriteSurvivesKill9AfterManyCheckpoints()
    {
        const string Kind = "garnet";
        var dataDir = Directory.CreateTempSubdirectory("ramcoin-bounds-kill-").FullName;
        var port = FreePort.Next();
        var store = await StoreServer.StartProcessAsync(Kind, port, dataDir);
        try
        {
            var (largest, bound) = await WriteFlushesAsync(await store.DatabaseAsync(), dataDir, Kind);
            await store.KillAsync(); // no shutdown, no last checkpoint: what survives is what was on disk
            await store.DisposeAsync();
            store = await StoreServer.StartProcessAsync(Kind, port, dataDir);

            await AssertEveryFlushIsThereAsync(await store.DatabaseAsync());
            Assert.True(largest < bound, $"the data directory reached {largest >> 10} KiB; the bound is {bound >> 10} KiB");
        }
        finally
        {
            await store.DisposeAsync();
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>
    /// Writes <see cref="Flushes"/> worker-like transactions, 16 at a time; answers the largest size the directory reached
    /// and the bound: the fixed part and four seconds of this test's writes (Garnet checks the size every second, then checkpoints).
    /// </summary>
    private static async Task<(long Largest, long Bound)> WriteFlushesAsync(IDatabase db, string dataDir, string kind)
    {
        var clock = Stopwatch.StartNew();
        var telemetry = new string('t', FlushBytes - 324);
        long largest = 0;
        var next = 0;
        var sampled = new SemaphoreSlim(1, 1);
        async Task WriterAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) <= Flushes)
            {
                var transaction = db.CreateTransaction();
                _ = transaction.StringIncrementAsync(StoreKeys.Hashes, 3);
                _ = transaction.HashIncrementAsync(StoreKeys.WorkerHashes, "bounds-worker", 3);
                _ = transaction.HashSetAsync(StoreKeys.WorkerSeen, "bounds-worker", 1_800_000_000 + i);
                _ = transaction.HashSetAsync(StoreKeys.WorkerFlushes, $"bounds-worker/{i % 16}", i);
                _ = transaction.HashSetAsync(StoreKeys.WorkerTelemetry, "bounds-worker", telemetry);
                if (i % 16 == 0)
                {
                    _ = transaction.HashSetAsync(StoreKeys.Wallet, $"{i:x64}", new byte[32]);
                }

                Assert.True(await transaction.ExecuteAsync());
                if (i % 500 == 0 && await sampled.WaitAsync(0, Ct))
                {
                    largest = Math.Max(largest, DirectorySize(dataDir));
                    sampled.Release();
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(WriterAsync, Ct)));
        largest = Math.Max(largest, DirectorySize(dataDir));
        var perSecond = (long)(Flushes * (double)FlushBytes / clock.Elapsed.TotalSeconds);
        var bound = FixedBoundBytes + (4 * perSecond);
        Figures.Report(string.Create(CultureInfo.InvariantCulture,
            $"store data directory ({kind}): {Flushes} flushes of about 1 KB ({Flushes * (long)FlushBytes >> 20} MiB) in {clock.Elapsed.TotalSeconds:F1} s; " +
            $"largest {largest >> 10} KiB (bound {bound >> 10} KiB), at the end {DirectorySize(dataDir) >> 10} KiB"));
        return (largest, bound);
    }

    private static async Task AssertEveryFlushIsThereAsync(IDatabase db)
    {
        Assert.Equal(3L * Flushes, (long)await db.StringGetAsync(StoreKeys.Hashes));
        Assert.Equal(3L * Flushes, (long)await db.HashGetAsync(StoreKeys.WorkerHashes, "bounds-worker"));
        Assert.Equal(Flushes / 16, await db.HashLengthAsync(StoreKeys.Wallet));
        Assert.Equal(16, await db.HashLengthAsync(StoreKeys.WorkerFlushes));
    }

    private static long DirectorySize(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            }
            catch (IOException) when (attempt < 10)
            {
                // A checkpoint or segment removed while we counted: count again.
            }
        }
    }
}
