using Microsoft.Playwright;

namespace RamCoin.Tests;

/// <summary>
/// The page through a store outage. Apart from <see cref="DashboardTests"/> and <see cref="DashboardUpdateTests"/>
/// because each waits out a restart: side by side, they do not queue behind the others.
/// </summary>
public sealed class DashboardRecoveryTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task AStoreOutageShowsTheStaleNoticeAndThePageRecoversByItself()
    {
        var dataDir = Directory.CreateTempSubdirectory("ramcoin-dash-").FullName;
        var port = FreePort.Next();
        var store = await StoreServer.StartProcessAsync("garnet", port, dataDir);
        try
        {
            await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["REDIS_TIMEOUT_MS"] = "500" }, peers: store.Peers());
            var page = await browser.NewPageAsync();
            await page.GotoAsync(webui.Address.ToString());
            await Assertions.Expect(page.Locator("#connection")).ToHaveTextAsync("live");
            await Assertions.Expect(page.Locator("#stale")).ToBeHiddenAsync();

            await store.KillAsync();
            await Assertions.Expect(page.Locator("#stale")).ToContainTextAsync("Data stale since", new() { Timeout = 15_000 });

            await store.DisposeAsync();
            store = await StoreServer.StartProcessAsync("garnet", port, dataDir);
            await Assertions.Expect(page.Locator("#stale")).ToBeHiddenAsync(new() { Timeout = 15_000 });
            await page.CloseAsync();
        }
        finally
        {
            await store.DisposeAsync();
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
