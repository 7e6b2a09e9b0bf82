using Microsoft.Playwright;

namespace RamCoin.Tests;

/// <summary>
/// The expected ceiling in Chromium, from end to end: it follows a run-time change of rng's concurrency, and the
/// measured rate follows it. Alone in its class: it waits out two 10 s rate windows, side by side with the others.
/// </summary>
public sealed class CeilingDashboardTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task TheExpectedCeilingFollowsARunTimeChangeOfRngConcurrencyFrom10To20()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        // The classic profile: rng serves one request at a time for 100 ms, hasher takes 100 ms, a loop pauses 100 ms.
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, AdminKnobs.Enabled);
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
        await Eventually.TrueAsync(async () => await Pages.NumberAsync(page.Locator("#rate")) >= 8.5, "the measured rate nears 10 hashes/s", 40);
        Assert.InRange(await Pages.NumberAsync(page.Locator("#rate")), 8.5, 10.5);

        await rng.Client.ChangeKnobsAsync(new() { ["RNG_CONCURRENCY"] = 2 });

        await Assertions.Expect(page.Locator("#ceiling")).ToHaveTextAsync("20.0", new() { Timeout = 15_000 });
        await Assertions.Expect(page.Locator("#ceiling-explanation")).ToContainTextAsync("ceiling 20.0 h/s: 1 rng × 2 requests at a time ÷ 100 ms");
        var dashboard = await webui.Client.GetFromJsonAsync<JsonElement>("/dashboard.json", Ct);
        Assert.Equal(20, dashboard.GetProperty("ceiling").GetProperty("hashesPerSecond").GetDouble());
        Assert.Equal("rng", dashboard.GetProperty("ceiling").GetProperty("limitedBy").GetString());
        await Eventually.TrueAsync(async () => await Pages.NumberAsync(page.Locator("#rate")) >= 17, "the measured rate nears 20 hashes/s", 40);

        await Pages.SaveScreenshotAsync(page, "dashboard-ceiling.png");
        await page.CloseAsync();
    }
}
