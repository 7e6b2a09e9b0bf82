using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RamCoin.Tests;

/// <summary>
/// The expected ceiling's inputs: rng and hasher say their capacity in headers, the worker records it in the store.
/// The dashboard's side is in <see cref="CeilingDashboardTests"/>.
/// </summary>
public sealed class CeilingTests
{
    [Fact]
    public async Task RngAndHasherSayTheirCapacityAsSetNowAndTheOthersSayNone()
    {
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, AdminKnobs.Enabled);
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, AdminKnobs.Enabled);
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["REDIS_TIMEOUT_MS"] = "500" });

        using (var bytes = await rng.Client.GetAsync("/32", Ct))
        {
            Assert.Equal(("1", "100"), (Header(bytes, ServiceIdentity.ConcurrencyHeader), Header(bytes, ServiceIdentity.ServiceMsHeader)));
            Assert.Null(Header(bytes, ServiceIdentity.ExtraLatencyMsHeader));
        }

        await rng.Client.ChangeKnobsAsync(new() { ["RNG_CONCURRENCY"] = 2, ["RNG_DELAY_MS"] = 20, ["RAMCOIN_EXTRA_LATENCY_MS"] = 30 });
        using (var bytes = await rng.Client.GetAsync("/32", Ct))
        {
            Assert.Equal(("2", "20", "30"), (Header(bytes, ServiceIdentity.ConcurrencyHeader), Header(bytes, ServiceIdentity.ServiceMsHeader), Header(bytes, ServiceIdentity.ExtraLatencyMsHeader)));
        }

        // Probes are not delayed, so they do not say so.
        using (var probe = await rng.Client.GetAsync("/healthz", Ct))
        {
            Assert.Null(Header(probe, ServiceIdentity.ExtraLatencyMsHeader));
        }

        // hasher serves every request at once: no concurrency header, its delay as service time.
        using (var hash = await hasher.Client.PostAsync("/", new ByteArrayContent(new byte[32]), Ct))
        {
            Assert.Equal((null, "100"), (Header(hash, ServiceIdentity.ConcurrencyHeader), Header(hash, ServiceIdentity.ServiceMsHeader)));
        }

        await hasher.Client.ChangeKnobsAsync(new() { ["HASHER_DELAY_MS"] = 7 });
        using (var hash = await hasher.Client.PostAsync("/", new ByteArrayContent(new byte[32]), Ct))
        {
            Assert.Equal("7", Header(hash, ServiceIdentity.ServiceMsHeader));
        }

        using var page = await webui.Client.GetAsync("/json", Ct);
        Assert.Null(Header(page, ServiceIdentity.ServiceMsHeader));
        Assert.Null(Header(page, ServiceIdentity.ConcurrencyHeader));
    }

    [Fact]
    public async Task TheWorkerRecordsEachInstancesCapacityAndTakesAPeersGarbageAsNothing()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        // An rng whose capacity headers no rng sends: a number too large, a negative one, a word.
        await using var odd = await OddRngAsync(("X-RamCoin-Concurrency", "99999999999"), ("X-RamCoin-Service-Ms", "-3"), ("X-RamCoin-Extra-Latency-Ms", "soon"));
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_ID"] = "w1", ["WORKER_FLUSH_MS"] = "200" }, Profile.Fast, store.Peers(odd.Address, hasher.Address));
        var db = await store.DatabaseAsync();

        WorkerReport? report = null;
        await Eventually.TrueAsync(
            async () =>
            {
                var json = await db.HashGetAsync(StoreKeys.WorkerTelemetry, "w1");
                report = json.IsNull ? null : JsonSerializer.Deserialize(json.ToString(), StoreJsonContext.Default.WorkerReport);
                return report is { Rng.Instances.Count: > 0, Hasher.Instances.Count: > 0 };
            },
            "the worker's report names the rng and hasher instances it called");

        var rng = Assert.Single(report!.Rng.Instances).Value;
        Assert.Equal((null, null, null), (rng.Concurrency, rng.ServiceMs, rng.ExtraLatencyMs));
        var fast = Assert.Single(report.Hasher.Instances).Value;
        Assert.Equal((null, 0), (fast.Concurrency, fast.ServiceMs));
    }

    /// <summary>A stand-in rng on a real Kestrel: 32 bytes, with the given headers.</summary>
    private static Task<StandInServer> OddRngAsync(params (string Name, string Value)[] headers) =>
        StandInServer.StartAsync(app => app.MapGet("/{count}", (HttpContext context) =>
        {
            foreach (var (name, value) in headers)
            {
                context.Response.Headers[name] = value;
            }

            return Results.Bytes(new byte[32], "application/octet-stream");
        }));

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}
