using Microsoft.Playwright;

namespace RamCoin.Tests;

/// <summary>The dashboard in a real headless Chromium, against real services; and its content security policy.</summary>
public sealed class DashboardTests(BrowserFixture browser)
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
        var page = await browser.OpenAsync(webui);
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
