using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace RamCoin.Tests;

public sealed class WorkerTests
{
    [Theory]
    [StoreKinds]
    public async Task CountsAndCoinsLandInTheStoreAndEveryCoinVerifies(string kind)
    {
        await using var rig = await MiningRig.StartAsync(kind);
        await using var worker = await rig.StartWorkerAsync(new() { ["WORKER_ID"] = "test-worker" });
        var stats = worker.Get<MiningStats>();

        await Eventually.TrueAsync(() => stats.Written >= 100 && stats.CoinsWritten >= 3, "the worker writes 100 hashes and 3 coins");
        // /status reports the worker's live counters: read between two reads of them, each figure lies between
        // (they only rise). A made-up, stale or swapped figure falls outside.
        var (writtenBefore, computedBefore, coinsBefore) = (stats.Written, stats.Computed, stats.CoinsWritten);
        var status = await worker.Client.GetFromJsonAsync<JsonElement>("/status", Ct);
        var (writtenAfter, computedAfter, coinsAfter) = (stats.Written, stats.Computed, stats.CoinsWritten);
        await worker.DisposeAsync(); // stops the loops, then flushes what is pending

        var db = await rig.DatabaseAsync();
        Assert.Equal("test-worker", status.GetProperty("instanceId").GetString());
        Assert.InRange(status.GetProperty("hashesWritten").GetInt64(), writtenBefore, writtenAfter);
        Assert.InRange(status.GetProperty("hashesComputed").GetInt64(), computedBefore, computedAfter);
        Assert.InRange(status.GetProperty("coinsWritten").GetInt64(), coinsBefore, coinsAfter);
        Assert.Equal(stats.Computed, stats.Written);
        Assert.Equal(stats.Computed, (long)await db.StringGetAsync(StoreKeys.Hashes));
        Assert.Equal(stats.Computed, (long)await db.HashGetAsync(StoreKeys.WorkerHashes, "test-worker"));
        Assert.True(await db.HashExistsAsync(StoreKeys.WorkerSeen, "test-worker"));

        var wallet = await db.HashGetAllAsync(StoreKeys.Wallet);
        Assert.Equal(stats.CoinsWritten, wallet.Length);
        Assert.Equal(stats.CoinsFound, wallet.Length);
        WalletAssert.AllVerify(wallet);

        // Roughly one hash in 16 starts with "0": a wallet far from that means coins are lost or invented.
        Assert.InRange(wallet.Length, stats.Computed / 40, stats.Computed / 6);
    }

    /// <summary>
    /// Kubernetes sets REDIS_PORT=tcp://&lt;service IP&gt;:6379 in every pod of a namespace with a Service named redis
    /// (the course creates one with `kubectl expose`): the worker takes the port from it instead of refusing to start.
    /// </summary>
    [Fact]
    public async Task AKubernetesServiceLinkInRedisPortIsUnderstood()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var peers = await FastPeers.StartAsync();
        var addresses = peers.With(store) with { StorePort = 1 };
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker,
            new() { ["REDIS_PORT"] = $"tcp://10.96.0.5:{store.Port}", ["WORKER_FLUSH_MS"] = "200" },
            Profile.Fast,
            addresses);
        var stats = worker.Get<MiningStats>();

        await Eventually.TrueAsync(() => stats.Written >= 10, "the worker writes to the store on the link's port");
        Assert.True((long)await (await store.DatabaseAsync()).StringGetAsync(StoreKeys.Hashes) >= 10);
    }

    [Theory]
    [InlineData("redis")]
    [InlineData("http://redis:6379")]
    [InlineData("70000")]
    public async Task ARedisPortThatIsNotAPortStopsTheWorkerWithItsName(string value)
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            RunningService.StartAsync(ServiceNames.Worker, new() { ["REDIS_PORT"] = value }, Profile.Fast));

        Assert.Equal($"REDIS_PORT must be a port from 1 to 65535, or tcp://host:port (it is '{value}').", Assert.Single(failure.Failures));
    }

    [Fact]
    public async Task HarderDifficultyKeepsOnlyHashesWithTheLongerPrefix()
    {
        await using var rig = await MiningRig.StartAsync();
        await using var worker = await rig.StartWorkerAsync(new() { ["DIFFICULTY"] = "00" });
        var stats = worker.Get<MiningStats>();

        await Eventually.TrueAsync(() => stats.CoinsWritten >= 2, "the worker finds 2 coins at difficulty 00");
        await worker.DisposeAsync();

        var wallet = await (await rig.DatabaseAsync()).HashKeysAsync(StoreKeys.Wallet);
        Assert.NotEmpty(wallet);
        Assert.All(wallet, key => Assert.StartsWith("00", key.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task KeepsGoingWhileRngIsDownAndResumesWhenItComesBack()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
        var rngPort = FreePort.Next();
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker,
            new() { ["WORKER_FLUSH_MS"] = "200", ["WORKER_ERROR_BACKOFF_MS"] = "100" },
            Profile.Fast,
            store.Peers(new Uri($"http://127.0.0.1:{rngPort}"), hasher.Address));
        var stats = worker.Get<MiningStats>();

        await Eventually.TrueAsync(() => stats.Errors >= 3, "failed loops are counted as errors");
        Assert.Equal(0, stats.Computed);

        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast, port: rngPort);
        await Eventually.TrueAsync(() => stats.Written >= 10, "the worker resumes once rng answers");
    }

    [Fact]
    public async Task AFrozenHasherTimesOutInsteadOfBlockingTheLoop()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast);
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, new() { ["HASHER_DELAY_MS"] = "30000" });
        await AssertLoopsFailAsync(store, rng.Address, hasher.Address, ShortTimeout, "three timed-out calls in a few seconds, not one call stuck for 30 s");
    }

    [Fact]
    public async Task AnAnswerWhoseBodyStallsTimesOutInsteadOfBlockingTheLoop()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
        // An rng that sends its headers and half of its 32 bytes, then nothing more.
        await using var rng = await StandInServer.StartAsync(async context =>
        {
            context.Response.ContentLength = 32;
            await context.Response.Body.WriteAsync(new byte[16], context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        await AssertLoopsFailAsync(store, rng.Address, hasher.Address, ShortTimeout, "the per-try timeout covers the body: three failed loops, not one stuck forever");
    }

    [Fact]
    public async Task CookiesFromAPeerAreNotSentBack()
    {
        // DockerCoins' worker calls with a fresh request each time: a cookie set by one rng replica does not follow
        // the worker to the next call (nor pin it to a replica through a sticky-session cookie).
        await using var store = await StoreServer.StartGarnetAsync();
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
        var withCookie = 0;
        await using var rng = await StandInServer.StartAsync(context =>
        {
            if (context.Request.Headers.Cookie.Count > 0)
            {
                Interlocked.Increment(ref withCookie);
            }

            context.Response.Headers.SetCookie = "replica=rng-1; Path=/";
            return context.Response.Body.WriteAsync(new byte[32], context.RequestAborted).AsTask();
        });
        await using var worker = await RunningService.StartAsync(ServiceNames.Worker, new() { ["WORKER_CONCURRENCY"] = "1" }, Profile.Fast, store.Peers(rng.Address, hasher.Address));
        var stats = worker.Get<MiningStats>();

        // Until a write: a worker stopped before it reached the store fails its stop (its hashes were not written).
        await Eventually.TrueAsync(() => stats.Computed >= 20 && stats.Written > 0, "the worker mines with the stand-in rng");
        Assert.Equal(0, Volatile.Read(ref withCookie));
    }

    [Theory]
    [InlineData(31)]
    [InlineData(33)]
    [InlineData(100_000)]
    public async Task AnRngAnswerOfTheWrongLengthIsRefused(int length)
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
        await using var rng = await StandInServer.StartAsync(context => context.Response.Body.WriteAsync(new byte[length], context.RequestAborted).AsTask());
        await AssertLoopsFailAsync(
            store, rng.Address, hasher.Address, new() { ["WORKER_ERROR_BACKOFF_MS"] = "50", ["WORKER_CONCURRENCY"] = "2" }, "answers of the wrong length fail their loops");
    }

    [Theory]
    [InlineData("megabytes")]
    [InlineData("garbage")]
    [InlineData("padded")]
    public async Task AHasherAnswerThatIsNotADigestIsRefused(string kind)
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast);
        var answer = kind switch
        {
            // 4 MiB, chunked: read only up to the limit, not kept whole.
            "megabytes" => new byte[4 << 20],
            "garbage" => "this is not a digest"u8.ToArray(),
            // A digest, then more than the answer may hold.
            _ => Encoding.ASCII.GetBytes(new string('a', 64) + new string(' ', HasherClient.MaxAnswerBytes)),
        };
        await using var hasher = await StandInServer.StartAsync(context => context.Response.Body.WriteAsync(answer, context.RequestAborted).AsTask());
        await AssertLoopsFailAsync(
            store, rng.Address, hasher.Address, new() { ["WORKER_ERROR_BACKOFF_MS"] = "50", ["WORKER_CONCURRENCY"] = "2" }, "answers that are not a digest fail their loops");
    }

    [Theory]
    [InlineData("3FA1C0FFEE3FA1C0FFEE3FA1C0FFEE3FA1C0FFEE3FA1C0FFEE3FA1C0FFEE3FA1", "3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1")]
    [InlineData("3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1\n", "3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1")]
    [InlineData("\uFEFF 3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1\r\n", "3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1")]
    [InlineData("3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa", null)]
    [InlineData("3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1a", null)]
    [InlineData("3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fag", null)]
    [InlineData("3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3f\u00e9", null)]
    [InlineData("3fa1c0ffee3fa1c0ffee3fa1c0 ffee3fa1c0ffee3fa1c0ffee3fa1c0ffee3fa1", null)]
    [InlineData("", null)]
    public void TheHashersAnswerIsSixtyFourHexDigitsLowered(string answer, string? digest) =>
        Assert.Equal(digest, HasherClient.Sha256Hex(Encoding.UTF8.GetBytes(answer)));

    /// <summary>One loop at a time, each call given 200 ms: a stuck call shows as errors within a second.</summary>
    private static Dictionary<string, string?> ShortTimeout => new()
    {
        ["WORKER_TIMEOUT_MS"] = "200",
        ["WORKER_ERROR_BACKOFF_MS"] = "50",
        ["WORKER_CONCURRENCY"] = "1",
    };

    /// <summary>A worker against these peers fails its loops (three at least) and computes no hash.</summary>
    private static async Task AssertLoopsFailAsync(StoreServer store, Uri rng, Uri hasher, Dictionary<string, string?> settings, string because)
    {
        await using var worker = await RunningService.StartAsync(ServiceNames.Worker, settings, Profile.Fast, store.Peers(rng, hasher));
        var stats = worker.Get<MiningStats>();

        await Eventually.TrueAsync(() => stats.Errors >= 3, because);
        Assert.Equal(0, stats.Computed);
    }

    [Fact]
    public async Task KeepsCountsWhileTheStoreIsDownAndWritesThemWhenItComesBack()
    {
        var storePort = FreePort.Next();
        await using var peers = await FastPeers.StartAsync();
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker,
            new() { ["WORKER_FLUSH_MS"] = "200", ["REDIS_TIMEOUT_MS"] = "300", ["WORKER_CONCURRENCY"] = "2" },
            Profile.Fast,
            new PeerAddresses(peers.Rng.Address.ToString(), peers.Hasher.Address.ToString(), "127.0.0.1", storePort));
        var stats = worker.Get<MiningStats>();

        await Eventually.TrueAsync(() => stats.Computed >= 50, "the worker mines while the store is down");
        Assert.Equal(0, stats.Written);

        await using var store = await ReleasedPort.StartAsync(() => StoreServer.StartGarnetAsync(port: storePort));
        await Eventually.TrueAsync(() => stats.Written >= 50, "pending counts reach the store once it is back");
        await worker.DisposeAsync();

        Assert.Equal(stats.Computed, (long)await (await store.DatabaseAsync()).StringGetAsync(StoreKeys.Hashes));
    }

    /// <summary>
    /// The first hashes reach the store as soon as they are computed, not a period after the start (the dashboard
    /// shows a fresh start at once); the next flush waits its period, and a worker stopped before it still writes.
    /// </summary>
    [Fact]
    public async Task TheFirstHashesGoOutAtOnceAndAWorkerStoppedBetweenFlushesWritesWhatItComputed()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var peers = await FastPeers.StartAsync();
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_FLUSH_MS"] = "60000" }, Profile.Fast, peers.With(store));
        var stats = worker.Get<MiningStats>();

        // Well inside the 60 s period (Eventually's own limit is far shorter).
        await Eventually.TrueAsync(() => stats.Written > 0, "the first hashes are in the store before the first period ends");
        var first = stats.Written;
        await Eventually.TrueAsync(() => stats.Computed >= first + 10, "the worker mines on");
        Assert.Equal(first, stats.Written);
        await worker.DisposeAsync();

        Assert.Equal(0, stats.HashesPending);
        Assert.Equal(stats.Computed, (long)await (await store.DatabaseAsync()).StringGetAsync(StoreKeys.Hashes));
    }
}
