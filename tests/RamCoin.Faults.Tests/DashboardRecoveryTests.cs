using Microsoft.Playwright;

namespace RamCoin.Tests;

/// <summary>
/// The page through what a course does to the system under it: a rolling update of the web UI, a store outage. Here
/// with the faults, not with the fast project's page tests: each waits out a restart (about 20 s of the fast run's minute).
/// </summary>
public sealed class DashboardRecoveryTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task PagesReloadThemselvesWhenTheWebUIVersionChanges()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        var port = FreePort.Next();
        var old = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["RAMCOIN_VERSION"] = "1.0.0" }, peers: store.Peers(), port: port);
        var page = await browser.OpenAsync(old);
        await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("1.0.0");
        await page.EvaluateAsync("window.loadedBeforeUpdate = true");

        // A rolling update: the old web UI goes, a new version comes up at the same address.
        await old.DisposeAsync();
        await using var updated = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["RAMCOIN_VERSION"] = "2.0.0" }, peers: store.Peers(), port: port);

        await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("2.0.0", new() { Timeout = 20_000 });
        Assert.False(await page.EvaluateAsync<bool>("window.loadedBeforeUpdate === true"), "the page reloaded itself");
        await page.CloseAsync();
    }

    [Fact]
    public async Task AStoreOutageShowsTheStaleNoticeAndThePageRecoversByItself()
    {
        var store = await StoreServer.StartPersistentAsync("garnet");
        try
        {
            await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["REDIS_TIMEOUT_MS"] = "500" }, peers: store.Peers());
            var page = await browser.OpenAsync(webui);
            await Assertions.Expect(page.Locator("#connection")).ToHaveTextAsync("live");
            await Assertions.Expect(page.Locator("#stale")).ToBeHiddenAsync();

            await store.KillAsync();
            await Assertions.Expect(page.Locator("#stale")).ToContainTextAsync("Data stale since", new() { Timeout = 15_000 });

            store = await store.RestartAsync();
            await Assertions.Expect(page.Locator("#stale")).ToBeHiddenAsync(new() { Timeout = 15_000 });
            await page.CloseAsync();
        }
        finally
        {
            await store.DisposeAsync();
        }
    }
}
