using Microsoft.Playwright;

namespace RamCoin.Tests;

/// <summary>
/// The expected ceiling in Chromium, from end to end: it follows a run-time change of rng's concurrency, and the
/// measured rate follows it (two 10 s rate windows); and the projector mode. Apart from <see cref="CeilingTests"/>
/// (no browser), so that the two run side by side.
/// </summary>
public sealed class CeilingDashboardTests(BrowserFixture browser)
{
    [Fact]
    public async Task TheExpectedCeilingFollowsARunTimeChangeOfRngConcurrencyFrom10To20()
    {
        await using var rig = await ClassicRig.StartAsync(AdminKnobs.Enabled);
        // Ten loops of 300 ms could do 33 hashes/s: enough to saturate rng at 1 and at 2.
        await using var worker = await rig.StartWorkerAsync("classroom", loops: 10);
        var page = await browser.OpenAsync(rig.WebUI);

        await Assertions.Expect(page.Locator("#ceiling")).ToHaveTextAsync("10.0", new() { Timeout = 20_000 });
        await Assertions.Expect(page.Locator("#ceiling-explanation")).ToContainTextAsync("ceiling 10.0 h/s: 1 rng × 1 request at a time ÷ 100 ms; measured");
        await Assertions.Expect(page.Locator("#ceiling-terms")).ToContainTextAsync("set by rng; workers 33.3, rng 10.0");
        // The measured rate meets the ceiling, and no more (the 10 s window fills first).
        await Eventually.TrueAsync(async () => await Pages.NumberAsync(page.Locator("#rate")) >= 8.5, "the measured rate nears 10 hashes/s", 40);
        Assert.InRange(await Pages.NumberAsync(page.Locator("#rate")), 8.5, 10.5);

        await rig.Rng.Client.ChangeKnobsAsync(new() { ["RNG_CONCURRENCY"] = 2 });

        await Assertions.Expect(page.Locator("#ceiling")).ToHaveTextAsync("20.0", new() { Timeout = 15_000 });
        await Assertions.Expect(page.Locator("#ceiling-explanation")).ToContainTextAsync("ceiling 20.0 h/s: 1 rng × 2 requests at a time ÷ 100 ms");
        var dashboard = await rig.WebUI.Client.GetFromJsonAsync<JsonElement>("/dashboard.json", Ct);
        Assert.Equal(20, dashboard.GetProperty("ceiling").GetProperty("hashesPerSecond").GetDouble());
        Assert.Equal("rng", dashboard.GetProperty("ceiling").GetProperty("limitedBy").GetString());
        await Eventually.TrueAsync(async () => await Pages.NumberAsync(page.Locator("#rate")) >= 17, "the measured rate nears 20 hashes/s", 40);

        await Pages.SaveScreenshotAsync(page, "dashboard-ceiling.png");
        await page.CloseAsync();
    }

    [Fact]
    public async Task ProjectorModeShowsOnlyTheRateTheCeilingAndTheTimelineInLargeTypeAndSurvivesAReload()
    {
        await using var rig = await ClassicRig.StartAsync();
        await using var worker = await rig.StartWorkerAsync("w1");
        var page = await browser.OpenAsync(rig.WebUI);
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
