using Microsoft.Playwright;

namespace RamCoin.Tests;

/// <summary>The dashboard in a real headless Chromium, against real services.</summary>
public sealed class DashboardTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task ShowsARisingRateTheWorkerInstancesVersionsAndVerifiedCoinsWithoutErrors()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, new() { ["RAMCOIN_VERSION"] = "3.1.4" }, Profile.Fast);
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_ID"] = "worker-pod-1", ["WORKER_CONCURRENCY"] = "2", ["DIFFICULTY"] = "0" }, Profile.Fast, store.Peers(rng.Address, hasher.Address));
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["RAMCOIN_VERSION"] = "7.7.7" }, peers: store.Peers());
        var page = await browser.NewPageAsync();
        var problems = await Pages.WatchAsync(page);

        await page.GotoAsync(webui.Address.ToString());

        await Assertions.Expect(page.Locator("#connection")).ToHaveTextAsync("live");
        await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("7.7.7");
        await Eventually.TrueAsync(async () => await Pages.NumberAsync(page.Locator("#rate")) > 0, "the page shows a rate above zero");
        var first = await Pages.NumberAsync(page.Locator("#hashes"));
        await Eventually.TrueAsync(async () => await Pages.NumberAsync(page.Locator("#hashes")) > first, "the hash count rises on the page");
        await Assertions.Expect(page.Locator("#workers tbody")).ToContainTextAsync("worker-pod-1");
        await Assertions.Expect(page.Locator("#rng-instances tbody")).ToContainTextAsync("3.1.4");
        await Assertions.Expect(page.Locator("#hasher-instances tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#wallet tbody")).ToContainTextAsync("✓ verified");
        await Assertions.Expect(page.Locator("#wallet tbody")).Not.ToContainTextAsync("does not verify");
        await Assertions.Expect(page.Locator("#hint")).Not.ToHaveTextAsync("Waiting for the workers' measurements…");
        await Assertions.Expect(page.Locator("#rate-chart canvas")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#stale")).ToBeHiddenAsync();

        await Pages.SaveScreenshotAsync(page, "dashboard.png");
        Assert.Empty(problems);
        await page.CloseAsync();
    }

    [Fact]
    public async Task KnobControlsChangeAServiceThroughTheWebUIWithTheTeachersToken()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, AdminKnobs.Enabled, Profile.Fast);
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: store.Peers(rng.Address, hasher.Address));
        var page = await browser.NewPageAsync();
        await page.GotoAsync(webui.Address.ToString());
        var rngKnobs = page.Locator("fieldset[data-service=rng]");
        await Assertions.Expect(rngKnobs.Locator("input[name=RNG_DELAY_MS]")).ToHaveValueAsync("0");

        await page.Locator("#admin-token").FillAsync("wrong");
        await rngKnobs.Locator("input[name=RNG_DELAY_MS]").FillAsync("250");
        await rngKnobs.Locator("button").ClickAsync();
        await Assertions.Expect(page.Locator("#knobs-status")).ToContainTextAsync("Wrong token");

        await page.Locator("#admin-token").FillAsync(AdminKnobs.Token);
        await rngKnobs.Locator("button").ClickAsync();
        await Assertions.Expect(page.Locator("#knobs-status")).ToHaveTextAsync("rng: knobs applied.");
        var knobs = await rng.Client.GetFromJsonAsync<System.Text.Json.JsonElement>("/admin/knobs", Ct);
        Assert.Equal("250", knobs.GetProperty("RNG_DELAY_MS").GetString());
        await page.CloseAsync();
    }
}
