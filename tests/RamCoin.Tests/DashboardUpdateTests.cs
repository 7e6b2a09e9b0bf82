using Microsoft.Playwright;

namespace RamCoin.Tests;

/// <summary>The page through a rolling update of the web UI: a new version at the same address reloads open pages.</summary>
public sealed class DashboardUpdateTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task PagesReloadThemselvesWhenTheWebUIVersionChanges()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        var port = FreePort.Next();
        var old = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["RAMCOIN_VERSION"] = "1.0.0" }, peers: store.Peers(), port: port);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(old.Address.ToString());
        await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("1.0.0");
        await page.EvaluateAsync("window.loadedBeforeUpdate = true");

        // A rolling update: the old web UI goes, a new version comes up at the same address.
        await old.DisposeAsync();
        await using var updated = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["RAMCOIN_VERSION"] = "2.0.0" }, peers: store.Peers(), port: port);

        await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("2.0.0", new() { Timeout = 20_000 });
        Assert.False(await page.EvaluateAsync<bool>("window.loadedBeforeUpdate === true"), "the page reloaded itself");
        await page.CloseAsync();
    }
}
