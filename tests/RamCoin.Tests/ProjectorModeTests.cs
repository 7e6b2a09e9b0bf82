using Microsoft.Playwright;

namespace RamCoin.Tests;

/// <summary>The dashboard's projector mode in Chromium: only the rate, the ceiling and the timeline, large and high-contrast.</summary>
public sealed class ProjectorModeTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
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
        await Pages.SaveScreenshotAsync(page, "dashboard-projector.png", fullPage: false);

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
}
