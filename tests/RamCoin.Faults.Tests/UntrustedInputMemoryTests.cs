using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using RamCoin.StoreContract;
using RamCoin.Worker;

namespace RamCoin.Tests;

/// <summary>
/// Alone: these measure this process's managed heap (after a full collection), which other tests running beside them
/// would move.
/// </summary>
[CollectionDefinition(nameof(UntrustedInputMemory), DisableParallelization = true)]
public sealed class UntrustedInputMemory;

/// <summary>
/// What a service keeps of what a peer or the store sends it is bounded: hostile input as fast as it can come leaves
/// the heap flat.
/// </summary>
[Collection(nameof(UntrustedInputMemory))]
public sealed class UntrustedInputMemoryTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public async Task AnRngThatNamesItselfAnewOnEveryAnswerLeavesTheWorkersMemoryFlat()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
        // Correct bytes, and a new 8,000-character instance name and version on every answer.
        await using var rng = await StandInAsync(context =>
        {
            context.Response.Headers[ServiceIdentity.InstanceHeader] = RandomNumberGenerator.GetHexString(8_000);
            context.Response.Headers[ServiceIdentity.VersionHeader] = RandomNumberGenerator.GetHexString(8_000);
            return context.Response.Body.WriteAsync(RandomNumberGenerator.GetBytes(32), context.RequestAborted).AsTask();
        });
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_ID"] = "victim", ["WORKER_CONCURRENCY"] = "4", ["WORKER_FLUSH_MS"] = "200" },
            Profile.Fast, store.Peers(new Uri(rng.Urls.First()), hasher.Address));
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

    /// <summary>The managed heap after a full, compacting collection: what is still referenced.</summary>
    private static long Heap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>A stand-in peer on a loopback port: plain Kestrel, every request answered by <paramref name="answer"/>.</summary>
    private static async Task<WebApplication> StandInAsync(RequestDelegate answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Run(answer);
        await app.StartAsync(Ct);
        return app;
    }
}
