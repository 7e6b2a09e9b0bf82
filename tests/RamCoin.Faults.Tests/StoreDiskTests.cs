using System.Net.Sockets;
using System.Text.RegularExpressions;
using RamCoin.Store;
using RamCoin.StoreContract;
using RamCoin.Worker;
using StackExchange.Redis;

namespace RamCoin.Tests;

/// <summary>
/// The embedded store and its data folder: it compacts without leaving its port, answers writes it cannot keep with an
/// error, recovers by itself when the disk does, and a worker that could not write what it computed says so at stop.
/// </summary>
public sealed partial class StoreDiskTests
{
    private static readonly string HalfMebibyte = new('v', 512 * 1024);

    [Fact]
    public async Task TheStoreKeepsItsPortAndItsClientsWhileItCompacts()
    {
        await using var store = await StoreServer.StartPersistentGarnetAsync();
        var embedded = store.Get<EmbeddedStore>()!;
        using var client = await RespConnection.ConnectAsync(store.Port);
        Assert.Equal("+PONG", await client.CommandAsync("PING"));

        // Another local program tries to take the store's port all along (it would then receive the clients' AUTH).
        using var stop = new CancellationTokenSource();
        var (tries, taken) = (0, 0);
        var squatter = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                tries++;
                try
                {
                    using var listener = new TcpListener(IPAddress.Loopback, store.Port);
                    listener.Start();
                    taken++;
                }
                catch (SocketException)
                {
                    // The store holds it: as it should.
                }

                await Task.Delay(1, CancellationToken.None);
            }
        }, Ct);

        // 12 MiB of writes: past the 8 MiB limit of the append-only file.
        for (var i = 0; i < 24; i++)
        {
            Assert.Equal("+OK", await client.CommandAsync("SET", $"big{i}", HalfMebibyte));
        }

        await Eventually.TrueAsync(() => embedded.Compactions >= 1, "the store compacts its append-only file", 30);
        await stop.CancelAsync();
        await squatter;

        Assert.True(taken == 0, $"another program bound the store's port {taken} times in {tries} tries");
        Assert.Equal("+PONG", await client.CommandAsync("PING"));
        Assert.Equal(":1", await client.CommandAsync("INCR", "after-compaction"));
    }

    [Fact]
    public async Task AFullDiskGetsErrorRepliesNotDroppedConnectionsAndTheStoreRecoversByItself()
    {
        using var disk = SmallDisk.Mount(32);
        var port = FreePort.Next();
        await using var store = await StoreServer.StartGarnetAsync(Path.Combine(disk.Path, "data"), port);
        using var client = await RespConnection.ConnectAsync(port);
        Assert.Equal("+OK", await client.CommandAsync("SET", "before", "kept"));

        disk.Fill(leaveBytes: 4L << 20);
        var reply = "";
        await Eventually.TrueAsync(async () => (reply = await client.CommandAsync("INCR", "while-full")).StartsWith('-'), "a write is refused", 10);
        Assert.StartsWith("-NOPERM", reply, StringComparison.Ordinal);
        Assert.Equal("kept", await client.CommandAsync("GET", "before"));

        disk.Unfill();
        await Eventually.TrueAsync(async () => await client.CommandAsync("SET", "after", "1") == "+OK", "writes are accepted again", 10);
    }

    [Fact]
    public async Task AWriteThatFailsOnTheDiskReplacesGarnetBehindTheSamePortAndKeepsEveryAcknowledgedWrite()
    {
        using var disk = SmallDisk.Mount(32);
        var dataDir = Path.Combine(disk.Path, "data");
        var port = FreePort.Next();
        var acknowledged = new List<string>();
        await using (var store = await StoreServer.StartGarnetAsync(dataDir, port))
        {
            using (var writer = await RespConnection.ConnectAsync(port))
            {
                for (var i = 0; i < 4; i++)
                {
                    Assert.Equal("+OK", await writer.CommandAsync("SET", $"big{i}", HalfMebibyte));
                    acknowledged.Add($"big{i}");
                }

                // Full at once, faster than the store checks its disk: the next batch fails on it, and each of its
                // commands is told so (not a closed connection, which cannot tell a lost reply from a lost write).
                disk.Fill(leaveBytes: 0);
                var replies = await writer.PipelineAsync(["SET", "big-too-many", HalfMebibyte], ["GET", "big0"], ["INCR", "too-many"]);
                Assert.All(replies, reply => Assert.StartsWith("-ERR the store could not write its disk", reply, StringComparison.Ordinal));
            }

            await Eventually.TrueAsync(() => store.Get<EmbeddedStore>()!.Restarts >= 1, "the store replaces its Garnet", 10);
            using var client = await RespConnection.ConnectAsync(port);
            Assert.StartsWith("-NOPERM", await client.CommandAsync("SET", "while-full", "1"), StringComparison.Ordinal);
            Assert.Equal(HalfMebibyte, await client.CommandAsync("GET", acknowledged[^1]));

            disk.Unfill();
            await Eventually.TrueAsync(async () => await client.CommandAsync("SET", "after", "1") == "+OK", "writes are accepted again", 10);
            acknowledged.Add("after");
        }

        await using var restarted = await ReleasedPort.StartAsync(() => StoreServer.StartGarnetAsync(dataDir, port));
        var db = await restarted.DatabaseAsync();
        foreach (var key in acknowledged)
        {
            Assert.True(await db.KeyExistsAsync(key), $"{key} was acknowledged, and is gone after a restart");
        }
    }

    [Fact]
    public async Task TheWorkerKeepsWhatItComputesWhileTheDiskIsFullAndWritesItAfter()
    {
        using var disk = SmallDisk.Mount(32);
        var store = await StoreServer.StartProcessAsync("garnet", FreePort.Next(), Path.Combine(disk.Path, "data"));
        try
        {
            await using var peers = await FastPeers.StartAsync();
            await using var worker = await StartWritingWorkerAsync(peers, store);
            var stats = worker.Get<MiningStats>();

            disk.Fill(leaveBytes: 4L << 20);
            await Eventually.TrueAsync(() => store.Log.Contains("Refusing writes", StringComparison.Ordinal), "the store refuses writes");
            var writtenWhileFull = stats.Written;
            await Task.Delay(TimeSpan.FromSeconds(2), Ct);
            Assert.True(stats.Written == writtenWhileFull, "nothing is written while the disk is full");
            Assert.True(stats.Computed > writtenWhileFull + 100, "the worker mined on, keeping what it computed");

            disk.Unfill();
            await Eventually.TrueAsync(() => stats.Written > writtenWhileFull, "writes resume once the disk has room");
            await worker.DisposeAsync();

            var db = await store.DatabaseAsync();
            Assert.Equal(stats.Computed, stats.Written);
            Assert.Equal(stats.Computed, (long)await db.StringGetAsync(StoreKeys.Hashes));
            Assert.Equal(stats.CoinsFound, await db.HashLengthAsync(StoreKeys.Wallet));
            Assert.False(store.Log.Contains("Exception", StringComparison.Ordinal), "the store logged no exception: " + store.Log);
        }
        finally
        {
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task AReadOnlyDataFolderGetsErrorRepliesKeepsTheWorkersHashesAndTheStoreRecoversByItself()
    {
        using var disk = ImmutableDisk.Mount(64);
        var store = await StoreServer.StartProcessAsync("garnet", FreePort.Next(), Path.Combine(disk.Path, "data"));
        await using var peers = await FastPeers.StartAsync();
        RunningService? worker = null;
        var client = await RespConnection.ConnectAsync(store.Port);

        // A command's reply, or "closed" with a new connection for the next one when the store closed this one.
        async Task<string> CommandOrReconnectAsync(params string[] command)
        {
            try
            {
                return await client.CommandAsync(command);
            }
            catch (IOException)
            {
                client.Dispose();
                client = await RespConnection.ConnectAsync(store.Port);
                return "closed";
            }
        }

        try
        {
            worker = await StartWritingWorkerAsync(peers, store);
            var stats = worker.Get<MiningStats>();
            Assert.Equal("+OK", await client.CommandAsync("SET", "before", "kept"));

            disk.ReadOnly(true);
            // The writes under way when the folder turned read-only fail in Garnet's log, which closes their connections
            // and then serves no one; the store replaces it with a stand-in (Garnet cannot open a read-only folder's files
            // to recover them). A client that connects then gets error replies, for reads too, on a connection it keeps.
            await Eventually.TrueAsync(() => store.Log.Contains("cannot be opened for writing", StringComparison.Ordinal), "the store serves a stand-in", 15);
            client.Dispose();
            client = await RespConnection.ConnectAsync(store.Port);
            var writtenWhileReadOnly = stats.Written;
            for (var i = 0; i < 10; i++)
            {
                await Task.Delay(200, Ct);
                Assert.StartsWith("-NOPERM", await client.CommandAsync("INCR", "while-read-only"), StringComparison.Ordinal);
                Assert.StartsWith("-NOPERM", await client.CommandAsync("GET", "before"), StringComparison.Ordinal);
            }

            Assert.True(stats.Written == writtenWhileReadOnly, "nothing is written while the folder is read-only");
            Assert.True(stats.Computed > writtenWhileReadOnly + 100, "the worker mined on, keeping what it computed");

            disk.ReadOnly(false);
            // The store replaces its stand-in with a Garnet that recovers the folder, and accepts writes by itself.
            await Eventually.TrueAsync(async () => await CommandOrReconnectAsync("SET", "after", "1") == "+OK", "writes are accepted again", 15);
            Assert.Equal("kept", await client.CommandAsync("GET", "before"));
            await Eventually.TrueAsync(
                () => stats.Written > writtenWhileReadOnly,
                "the worker writes again once the folder can be written",
                explain: () => $"worker's log:\n{worker.Log.Text}\nstore's log:\n{store.Log}");
            await worker.DisposeAsync();

            var db = await store.DatabaseAsync();
            Assert.Equal(stats.Computed, stats.Written);
            Assert.Equal(stats.Computed, (long)await db.StringGetAsync(StoreKeys.Hashes));
            Assert.Equal(stats.CoinsFound, await db.HashLengthAsync(StoreKeys.Wallet));
            // A client that connected between two Garnets was closed without its first bytes (they may hold a password) in the log.
            Assert.DoesNotContain("SETNAME", store.Log, StringComparison.Ordinal);
        }
        finally
        {
            client.Dispose();
            // Not `await using`: its stop's WorkLostException would hide the assertion that failed first.
            await StopQuietlyAsync(worker);
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task AStopThatLeavesComputedWorkUnwrittenExitsNonZero()
    {
        var store = await StoreServer.StartGarnetAsync();
        var ports = LauncherPorts.Free();
        await using var run = LauncherProcess.Start(
            ["rng,hasher,worker", .. ports.Options],
            new Dictionary<string, string> { ["REDIS_HOST"] = "127.0.0.1", ["REDIS_PORT"] = $"{store.Port}" });
        await run.WaitForOutputAsync("RamCoin is running");
        await Eventually.TrueAsync(() => UnitsOfWork().IsMatch(run.Output), "the worker writes to the store");

        await store.DisposeAsync();
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        run.Terminate();

        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(20)), "the launcher stops on SIGTERM");
        Assert.True(run.ExitCode == 1, $"exit code {run.ExitCode}: {run.Error}");
        Assert.Matches(@"ramcoin: worker did not stop cleanly: \d+ hashes and \d+ coins were not written", run.Error);
    }

    /// <summary>A worker on its own fast peers, writing to the store every 200 ms at difficulty 0, once it has written.</summary>
    private static async Task<RunningService> StartWritingWorkerAsync(FastPeers peers, StoreServer store)
    {
        var worker = await RunningService.StartAsync(
            ServiceNames.Worker,
            new() { ["WORKER_CONCURRENCY"] = "2", ["WORKER_FLUSH_MS"] = "200", ["DIFFICULTY"] = "0" },
            Profile.Fast,
            peers.With(store));
        try
        {
            await Eventually.TrueAsync(() => worker.Get<MiningStats>().Written >= 100, "the worker writes to the store");
            return worker;
        }
        catch
        {
            await StopQuietlyAsync(worker);
            throw;
        }
    }

    private static async Task StopQuietlyAsync(RunningService? service)
    {
        try
        {
            if (service is not null)
            {
                await service.DisposeAsync();
            }
        }
        catch (HashCounterFlusher.WorkLostException)
        {
            // Already stopped by the test, or the test failed before: what was lost is not its failure.
        }
    }

    [GeneratedRegex(@"[1-9]\d* units of work done")]
    private static partial Regex UnitsOfWork();
}
