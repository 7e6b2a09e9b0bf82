using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;
using RamCoin.Hosting;
using RamCoin.StoreContract;
using RamCoin.Tests.Infrastructure;

namespace RamCoin.Tests;

/// <summary>
/// The expected ceiling from end to end: rng and hasher say their capacity in headers, the worker records it in the
/// store, the dashboard shows the ceiling in Chromium and follows a run-time change; and the projector mode.
/// </summary>
public sealed class CeilingTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const string Token = "ceiling-teacher-token";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RngAndHasherSayTheirCapacityAsSetNowAndTheOthersSayNone()
    {
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, new() { ["RAMCOIN_ADMIN_TOKEN"] = Token });
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, new() { ["RAMCOIN_ADMIN_TOKEN"] = Token });
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["REDIS_TIMEOUT_MS"] = "500" });

        using (var bytes = await rng.Client.GetAsync("/32", Ct))
        {
            Assert.Equal(("1", "100"), (Header(bytes, ServiceIdentity.ConcurrencyHeader), Header(bytes, ServiceIdentity.ServiceMsHeader)));
            Assert.Null(Header(bytes, ServiceIdentity.ExtraLatencyMsHeader));
        }

        await PutKnobsAsync(rng.Client, new() { ["RNG_CONCURRENCY"] = 2, ["RNG_DELAY_MS"] = 20, ["RAMCOIN_EXTRA_LATENCY_MS"] = 30 });
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

        await PutKnobsAsync(hasher.Client, new() { ["HASHER_DELAY_MS"] = 7 });
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
            ServiceNames.Worker, new() { ["WORKER_ID"] = "w1", ["WORKER_FLUSH_MS"] = "200" }, Profile.Fast, store.Peers(odd.ListeningAddress(), hasher.Address));
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

    [Fact]
    public async Task TheExpectedCeilingFollowsARunTimeChangeOfRngConcurrencyFrom10To20()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        // The classic profile: rng serves one request at a time for 100 ms, hasher takes 100 ms, a loop pauses 100 ms.
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, new() { ["RAMCOIN_ADMIN_TOKEN"] = Token });
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher);
        // Ten loops of 300 ms could do 33 hashes/s: enough to saturate rng at 1 and at 2.
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_ID"] = "classroom", ["WORKER_CONCURRENCY"] = "10" }, peers: store.Peers(rng.Address, hasher.Address));
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: store.Peers(rng.Address, hasher.Address));
        var page = await browser.NewPageAsync();
        await page.GotoAsync(webui.Address.ToString());

        await Assertions.Expect(page.Locator("#ceiling")).ToHaveTextAsync("10.0", new() { Timeout = 20_000 });
        await Assertions.Expect(page.Locator("#ceiling-explanation")).ToContainTextAsync("ceiling 10.0 h/s: 1 rng × 1 request at a time ÷ 100 ms; measured");
        await Assertions.Expect(page.Locator("#ceiling-terms")).ToContainTextAsync("set by rng; workers 33.3, rng 10.0");
        // The measured rate meets the ceiling, and no more (the 10 s window fills first).
        await Eventually.TrueAsync(async () => Number(await page.Locator("#rate").TextContentAsync()) >= 8.5, "the measured rate nears 10 hashes/s", 40);
        Assert.InRange(Number(await page.Locator("#rate").TextContentAsync()), 8.5, 10.5);

        await PutKnobsAsync(rng.Client, new() { ["RNG_CONCURRENCY"] = 2 });

        await Assertions.Expect(page.Locator("#ceiling")).ToHaveTextAsync("20.0", new() { Timeout = 15_000 });
        await Assertions.Expect(page.Locator("#ceiling-explanation")).ToContainTextAsync("ceiling 20.0 h/s: 1 rng × 2 requests at a time ÷ 100 ms");
        var dashboard = await webui.Client.GetFromJsonAsync<JsonElement>("/dashboard.json", Ct);
        Assert.Equal(20, dashboard.GetProperty("ceiling").GetProperty("hashesPerSecond").GetDouble());
        Assert.Equal("rng", dashboard.GetProperty("ceiling").GetProperty("limitedBy").GetString());
        await Eventually.TrueAsync(async () => Number(await page.Locator("#rate").TextContentAsync()) >= 17, "the measured rate nears 20 hashes/s", 40);

        Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "TestResults"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "TestResults", "dashboard-ceiling.png"), FullPage = true });
        await page.CloseAsync();
    }

    [Fact]
    public async Task ProjectorModeShowsOnlyTheRateTheCeilingAndTheTimelineInLargeTypeAndSurvivesAReload()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng);
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher);
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_ID"] = "w1" }, peers: store.Peers(rng.Address, hasher.Address));
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: store.Peers(rng.Address, hasher.Address));
        var page = await browser.NewPageAsync();
        await page.GotoAsync(webui.Address.ToString());
        await Assertions.Expect(page.Locator("#knobs")).ToBeVisibleAsync();
        Assert.Equal("15px", await FontSizeAsync(page, "body"));

        await page.Locator("#projector-toggle").ClickAsync();
        await page.WaitForURLAsync("**/index.html?projector=1");
        await AssertProjectorAsync(page);

        await page.ReloadAsync();
        await AssertProjectorAsync(page);
        Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "TestResults"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(AppContext.BaseDirectory, "TestResults", "dashboard-projector.png") });

        await page.Locator("#projector-toggle").ClickAsync();
        await page.WaitForURLAsync(url => !url.Contains("projector", StringComparison.Ordinal));
        await Assertions.Expect(page.Locator("#knobs")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#hashes")).ToBeVisibleAsync();
        Assert.Equal("15px", await FontSizeAsync(page, "body"));
        await page.CloseAsync();
    }

    private static async Task AssertProjectorAsync(IPage page)
    {
        await Assertions.Expect(page.Locator("#ceiling")).ToHaveTextAsync("3.3", new() { Timeout = 20_000 });
        await Assertions.Expect(page.Locator("#rate")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#ceiling-explanation")).ToContainTextAsync("1 worker × 1 loop ÷ 300 ms");
        await Assertions.Expect(page.Locator("#rate-chart canvas")).ToBeVisibleAsync();
        Assert.Equal(1, await page.Locator("section#timeline").CountAsync());
        foreach (var other in new[] { "#knobs", "#workers", "#wallet", "#hint", "#hashes", "#coins", "#webui-version" })
        {
            await Assertions.Expect(page.Locator(other)).ToBeHiddenAsync();
        }

        Assert.Equal("28px", await FontSizeAsync(page, "body"));
        Assert.True(double.Parse((await FontSizeAsync(page, "#rate")).TrimEnd('p', 'x'), CultureInfo.InvariantCulture) >= 80, "the rate is readable from the back of the room");
        // High contrast: white on black.
        Assert.Equal("rgb(0, 0, 0)", await page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor"));
        Assert.Equal("rgb(255, 255, 255)", await page.EvaluateAsync<string>("getComputedStyle(document.body).color"));
        await Assertions.Expect(page.Locator("#projector-toggle")).ToHaveTextAsync("leave projector mode");
    }

    private static Task<string> FontSizeAsync(IPage page, string selector) =>
        page.EvalOnSelectorAsync<string>(selector, "e => getComputedStyle(e).fontSize");

    /// <summary>A stand-in rng on a real Kestrel: 32 bytes, with the given headers.</summary>
    private static async Task<WebApplication> OddRngAsync(params (string Name, string Value)[] headers)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/{count}", (HttpContext context) =>
        {
            foreach (var (name, value) in headers)
            {
                context.Response.Headers[name] = value;
            }

            return Results.Bytes(new byte[32], "application/octet-stream");
        });
        await app.StartAsync(Ct);
        return app;
    }

    private static async Task PutKnobsAsync(HttpClient client, Dictionary<string, object> knobs)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "/admin/knobs") { Content = JsonContent.Create(knobs) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var response = await client.SendAsync(request, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"PUT /admin/knobs answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(Ct)}");
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    private static double Number(string? text) =>
        double.TryParse(text?.Replace(",", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : 0;
}
