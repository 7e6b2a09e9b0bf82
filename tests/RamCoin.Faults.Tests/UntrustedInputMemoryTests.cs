using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace RamCoin.Tests;

/// <summary>
/// What a service keeps of what a peer or the store sends it is bounded: hostile input as fast as it can come leaves
/// the heap flat. Alone: these measure this process's managed heap (after a full collection), which other tests
/// running beside them would move.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class UntrustedInputMemoryTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public async Task AnRngThatNamesItselfAnewOnEveryAnswerLeavesTheWorkersMemoryFlat()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
        // Correct bytes, and a new 8,000-character instance name and version on every answer.
        await using var rng = await StandInServer.StartAsync(context =>
        {
            context.Response.Headers[ServiceIdentity.InstanceHeader] = RandomNumberGenerator.GetHexString(8_000);
            context.Response.Headers[ServiceIdentity.VersionHeader] = RandomNumberGenerator.GetHexString(8_000);
            return context.Response.Body.WriteAsync(RandomNumberGenerator.GetBytes(32), context.RequestAborted).AsTask();
        });
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_ID"] = "victim", ["WORKER_CONCURRENCY"] = "4", ["WORKER_FLUSH_MS"] = "200" },
            Profile.Fast, store.Peers(rng.Address, hasher.Address));
        var stats = worker.Get<MiningStats>();
        await Eventually.TrueAsync(() => stats.Computed >= 1_000, "the worker mines with the hostile rng");

        // Two windows (5 s each) of hostile names, the heap measured each second; stop early past any sane growth.
        var baseline = Heap();
        var computedAtBaseline = stats.Computed;
        var peak = baseline;
        for (var second = 0; second < 12 && peak - baseline < 256 * MiB; second++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), Ct);
            peak = Math.Max(peak, Heap());
        }

        var calls = stats.Computed - computedAtBaseline;
        TestContext.Current.TestOutputHelper?.WriteLine($"heap {baseline / MiB} MiB, peak {peak / MiB} MiB over {calls} hostile answers");
        Assert.True(peak - baseline < 48 * MiB, $"the heap grew by {(peak - baseline) / MiB} MiB over {calls} hostile answers");
        Assert.True(calls >= 3_000, $"{calls} hostile answers in 12 s: too few to show growth");

        // What the worker publishes of rng is bounded too: names cut, at most the limit of instances (and the others' entry).
        var db = await store.DatabaseAsync();
        var report = JsonSerializer.Deserialize(
            (string)(await db.HashGetAsync(StoreKeys.WorkerTelemetry, "victim"))!, StoreJsonContext.Default.WorkerReport)!;
        Assert.InRange(report.Rng.Instances.Count, 1, PeerTelemetry.MaxInstances + 1);
        Assert.All(report.Rng.Instances, i => Assert.True(i.Key.Length <= PeerTelemetry.MaxInstanceName && i.Value.Version.Length <= PeerTelemetry.MaxVersion));
        Assert.True(await db.HashStringLengthAsync(StoreKeys.WorkerTelemetry, "victim") < 16 * 1024, "the worker's report stays small");
    }

    [Fact]
    public async Task GarbageInTheStoreLeavesTheWebUIsReadsAndHeapBounded()
    {
        StoreServer.SkipUnlessRedisInstalled("redis-server");
        // A store in its own process: the heap measured here is the web UI's.
        await using var store = await StoreServer.StartRedisAsync();
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["DIFFICULTY"] = "0" }, peers: store.Peers());
        var sampler = webui.Get<RamCoin.WebUI.DashboardSampler>();
        await Eventually.TrueAsync(() => sampler.Latest is { Stale: false }, "the dashboard reads the empty store");

        // 200,000 workers seen just now, a 30 MB wallet value named by a recent coin, a 30 MB counter.
        var db = await store.DatabaseAsync();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 200;
        for (var batch = 0; batch < 200; batch++)
        {
            var fields = Enumerable.Range(batch * 1_000, 1_000).Select(i => new HashEntry($"garbage-{i}", now)).ToArray();
            await db.HashSetAsync(StoreKeys.WorkerSeen, fields);
            await db.HashSetAsync(StoreKeys.WorkerHashes, fields);
        }

        var hash = new string('0', 64);
        await db.HashSetAsync(StoreKeys.Wallet, hash, new byte[30_000_000]);
        await db.ListLeftPushAsync(StoreKeys.RecentCoins, JsonSerializer.Serialize(new RecentCoin(hash, now, "garbage-1"), StoreJsonContext.Default.RecentCoin));
        await db.StringSetAsync(StoreKeys.Hashes, new string('7', 30_000_000));

        // Ten ticks: what the web UI allocates a second (its reads) and keeps (after a full collection) stay small.
        var baseline = Heap();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var peak = baseline;
        var answered = 0;
        for (var second = 0; second < 10 && peak - baseline < 256 * MiB; second++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), Ct);
            using var json = await webui.Client.GetAsync("/json", Ct);
            answered += json.StatusCode == HttpStatusCode.OK ? 1 : 0;
            peak = Math.Max(peak, Heap());
        }

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Assert.True(peak - baseline < 32 * MiB, $"the heap grew by {(peak - baseline) / MiB} MiB");
        Assert.True(allocated < 40 * MiB, $"{allocated / MiB} MiB allocated in 10 s of reading the store");
        Assert.Equal(10, answered);
        Assert.False(sampler.Latest!.Stale, "the dashboard still reads the store");
    }

    [Fact]
    public async Task AWorkerPrunesAHashOfGarbageInBoundedReads()
    {
        StoreServer.SkipUnlessRedisInstalled("redis-server");
        await using var store = await StoreServer.StartRedisAsync();
        // Nobody answers on rng's and hasher's port: the worker's loops idle in their back-off, its pruner runs.
        var nobody = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_CONCURRENCY"] = "1", ["WORKER_FLUSH_MS"] = "200" }, Profile.Fast, store.Peers(nobody, nobody));
        var pruner = worker.Get<DepartedWorkerPruner>();
        await Eventually.TrueAsync(() => pruner.Passes >= 1, "the pruner's first pass");

        // 200,000 workers whose seen time is garbage (watched, not removed yet), each with a 100-character name.
        var db = await store.DatabaseAsync();
        for (var batch = 0; batch < 200; batch++)
        {
            await db.HashSetAsync(StoreKeys.WorkerSeen, [.. Enumerable.Range(batch * 1_000, 1_000).Select(i => new HashEntry($"{i:D10}{new string('g', 90)}", "abc"))]);
        }

        var baseline = Heap();
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        await pruner.PruneOnceAsync();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var kept = Heap() - baseline;

        Assert.True(allocated < 48 * MiB, $"a pass allocated {allocated / MiB} MiB");
        Assert.True(kept < 16 * MiB, $"the worker kept {kept / MiB} MiB after a pass");
    }

    /// <summary>The managed heap after a full, compacting collection: what is still referenced.</summary>
    private static long Heap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
