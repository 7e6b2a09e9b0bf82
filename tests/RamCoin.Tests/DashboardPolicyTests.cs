using Microsoft.Playwright;

namespace RamCoin.Tests;

/// <summary>
/// The dashboard's content security policy in Chromium: behind a path prefix, after a live edit of the page, against an
/// injected script and against framing.
/// </summary>
public sealed class DashboardPolicyTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task BehindKubectlProxysPathPrefixThePageWorksUnderItsStrictPolicyWithoutViolations()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["RAMCOIN_VERSION"] = "7.7.7" }, peers: store.Peers());
        await using var proxy = await PathPrefixProxy.StartAsync(webui.Address);
        var page = await browser.NewPageAsync();
        var problems = await Pages.WatchAsync(page);

        var document = await page.GotoAsync(proxy.Address.ToString());

        Assert.NotNull(document);
        Assert.StartsWith(proxy.Address + "index.html", document.Url, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", await document.HeaderValueAsync("content-security-policy") ?? "(no policy)", StringComparison.Ordinal);
        await Assertions.Expect(page.Locator("#connection")).ToHaveTextAsync("live");
        await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("7.7.7");
        await Assertions.Expect(page.Locator("#rate-chart canvas")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("fieldset[data-service=rng]")).ToHaveCountAsync(1);
        // The inline style ran (allowed by its hash), and so did every script, under the policy.
        Assert.Equal("15px", await page.EvaluateAsync<string>("getComputedStyle(document.body).fontSize"));
        Assert.Empty(await Pages.ViolationsAsync(page));
        Assert.Empty(problems);
        await page.CloseAsync();
    }

    [Fact]
    public async Task ThePolicyFollowsTheLiveEditOfTheStyleAndBlocksAnInjectedScript()
    {
        var files = Directory.CreateTempSubdirectory("ramcoin-files-").FullName;
        try
        {
            CopyFolder(Repo.PathOf("src/RamCoin.WebUI/files"), files);
            await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["WEBUI_FILES"] = files, ["REDIS_TIMEOUT_MS"] = "500" });
            var page = await browser.NewPageAsync();
            await page.AddInitScriptAsync(Pages.ViolationRecorder);
            var index = Path.Combine(files, "index.html");
            await page.GotoAsync(webui.Address.ToString());
            Assert.Equal("15px", await page.EvaluateAsync<string>("getComputedStyle(document.body).fontSize"));

            // The course's exercise: sed -i 's/font-size: 15px/font-size: 50px/' index.html, then reload.
            await File.WriteAllTextAsync(index, (await File.ReadAllTextAsync(index, Ct)).Replace("font-size: 15px", "font-size: 50px", StringComparison.Ordinal), Ct);
            await page.ReloadAsync();
            Assert.Equal("50px", await page.EvaluateAsync<string>("getComputedStyle(document.body).fontSize"));
            Assert.Empty(await Pages.ViolationsAsync(page));

            // What an attacker who gets markup into the page would add: it must not run.
            await File.WriteAllTextAsync(index, (await File.ReadAllTextAsync(index, Ct)).Replace("</body>", "<script>window.injected = true;</script></body>", StringComparison.Ordinal), Ct);
            await page.ReloadAsync();
            await Assertions.Expect(page.Locator("#connection")).Not.ToHaveTextAsync("connecting…");
            Assert.False(await page.EvaluateAsync<bool>("window.injected === true"), "the injected inline script ran");
            Assert.Contains(await Pages.ViolationsAsync(page), v => v.StartsWith("script-src", StringComparison.Ordinal));
            await page.CloseAsync();
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

    [Fact]
    public async Task NoOtherPageCanFrameTheDashboard()
    {
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["REDIS_TIMEOUT_MS"] = "500" });
        var page = await browser.NewPageAsync();

        // The page's load waits for the frame's; a frame the policy refuses shows Chromium's error page instead.
        await page.SetContentAsync($"<iframe src=\"{webui.Address}index.html\"></iframe>");

        var frame = page.Frames.Single(f => f != page.MainFrame);
        await Eventually.TrueAsync(() => frame.Url.StartsWith("chrome-error:", StringComparison.Ordinal), $"the frame is refused (it shows {frame.Url})", 15);
        Assert.Equal(0, await frame.Locator("#connection").CountAsync());
        await page.CloseAsync();
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
