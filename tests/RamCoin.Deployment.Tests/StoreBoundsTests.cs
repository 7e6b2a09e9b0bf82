namespace RamCoin.Tests;

/// <summary>
/// A week of mining in seconds: the embedded store's data directory stays bounded and keeps every acknowledged write,
/// while it compacts its append-only file several times under the writers (in process: they stay connected).
/// </summary>
public sealed class StoreBoundsTests
{
    /// <summary>About 1 KB each, like a worker's flush: 48 MB of append-only file, six times the 8 MiB limit.</summary>
    private const int Flushes = 48_000;

    /// <summary>
    /// The AOF limit (8 MiB), a 2 MiB segment, and the checkpoint (1 MiB index and the data, under 1 MiB here); what
    /// arrives in the seconds until the store has checked and compacted comes on top (<see cref="WriteFlushesAsync"/>). A
    /// real worker writes about 1 KB a second, so that part is nothing outside this test.
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
                var compactions = store.Get<RamCoin.Store.EmbeddedStore>()!.Compactions;
                Assert.True(compactions >= 3, $"the store compacted {compactions} times under 46 MiB of writes");
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
            Assert.Contains("Compacted the append-only file", store.Log, StringComparison.Ordinal);
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
    /// Writes <see cref="Flushes"/> worker-like transactions from 16 writers; answers the largest size the directory
    /// reached and the bound: the fixed part and four seconds of this test's writes (the store checks the size every
    /// second, then compacts).
    /// </summary>
    private static async Task<(long Largest, long Bound)> WriteFlushesAsync(IDatabase db, string dataDir, string kind)
    {
        var clock = Stopwatch.StartNew();
        var telemetry = new string('t', FlushBytes - 324);
        long largest = 0;
        var next = 0;
        var retried = 0;
        var sampled = new SemaphoreSlim(1, 1);
        async Task WriterAsync(int writer)
        {
            int i, previous = 0;
            while ((i = Interlocked.Increment(ref next)) <= Flushes)
            {
                Interlocked.Add(ref retried, await WriteOnceAsync(db, $"bounds-worker/{writer}", previous, i, telemetry));
                previous = i;
                if (i % 500 == 0 && await sampled.WaitAsync(0, Ct))
                {
                    largest = Math.Max(largest, DirectorySize(dataDir));
                    sampled.Release();
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(() => WriterAsync(w), Ct)));
        largest = Math.Max(largest, DirectorySize(dataDir));
        var perSecond = (long)(Flushes * (double)FlushBytes / clock.Elapsed.TotalSeconds);
        var bound = FixedBoundBytes + (4 * perSecond);
        Figures.Report(string.Create(CultureInfo.InvariantCulture,
            $"store data directory ({kind}): {Flushes} flushes of about 1 KB ({Flushes * (long)FlushBytes >> 20} MiB) in {clock.Elapsed.TotalSeconds:F1} s; " +
            $"largest {largest >> 10} KiB (bound {bound >> 10} KiB), at the end {DirectorySize(dataDir) >> 10} KiB; {retried} writes retried after a cut connection"));
        return (largest, bound);
    }

    /// <summary>
    /// One flush, applied exactly once as the worker's are: it runs only if the writer's ledger field still holds the
    /// writer's previous number, so after a cut connection the ledger tells whether it ran. Answers 1 if it was retried.
    /// </summary>
    private static async Task<int> WriteOnceAsync(IDatabase db, string ledger, int previous, int i, string telemetry)
    {
        for (var attempt = 0; ; attempt++)
        {
            Assert.True(attempt < 200, $"flush {i} of {ledger} did not go through in {attempt} tries");
            try
            {
                if (attempt > 0 && (int?)await db.HashGetAsync(StoreKeys.WorkerFlushes, ledger) == i)
                {
                    return 1;
                }

                var transaction = db.CreateTransaction();
                transaction.AddCondition(previous == 0
                    ? Condition.HashNotExists(StoreKeys.WorkerFlushes, ledger)
                    : Condition.HashEqual(StoreKeys.WorkerFlushes, ledger, previous));
                _ = transaction.StringIncrementAsync(StoreKeys.Hashes, 3);
                _ = transaction.HashIncrementAsync(StoreKeys.WorkerHashes, "bounds-worker", 3);
                _ = transaction.HashSetAsync(StoreKeys.WorkerSeen, "bounds-worker", 1_800_000_000 + i);
                _ = transaction.HashSetAsync(StoreKeys.WorkerFlushes, ledger, i);
                _ = transaction.HashSetAsync(StoreKeys.WorkerTelemetry, "bounds-worker", telemetry);
                if (i % 16 == 0)
                {
                    _ = transaction.HashSetAsync(StoreKeys.Wallet, $"{i:x64}", new byte[32]);
                }

                if (await transaction.ExecuteAsync())
                {
                    return attempt > 0 ? 1 : 0;
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // A cut connection (a store restart, a slow machine): try again once it is back.
            }

            await Task.Delay(50, Ct);
        }
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
