using Microsoft.Playwright;

namespace RamCoin.Tests;

/// <summary>The timeline in a real headless Chromium, against real services and a store that really goes away.</summary>
public sealed class TimelineTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private static readonly Dictionary<string, string?> Worker = new()
    {
        ["WORKER_ID"] = "worker-pod-1",
        ["WORKER_FLUSH_MS"] = "200",
        ["WORKER_DELAY_MS"] = "5",
    };

    [Fact]
    public async Task MarksAVersionChangeAndAStoreOutageInTheListAndOnTheChartAfterAReloadAndInTheExports()
    {
        // redis-server: it restarts in milliseconds where a Garnet process takes seconds (the outage is the same to the web UI).
        StoreServer.SkipUnlessRedisInstalled("redis-server");
        var dataDir = Directory.CreateTempSubdirectory("ramcoin-timeline-").FullName;
        var port = FreePort.Next();
        var store = await StoreServer.StartProcessAsync("redis-server", port, dataDir);
        RunningService? worker = null;
        try
        {
            await using var peers = await FastPeers.StartAsync();
            worker = await RunningService.StartAsync(ServiceNames.Worker, new(Worker) { ["RAMCOIN_VERSION"] = "1.0.0" }, Profile.Fast, peers.With(store));
            await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["REDIS_TIMEOUT_MS"] = "500" }, peers: store.Peers());
            var page = await browser.NewPageAsync();
            await page.AddInitScriptAsync(Pages.ViolationRecorder);
            var errors = new List<string>();
            page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    errors.Add(message.Text);
                }
            };
            await page.GotoAsync(webui.Address.ToString());
            await Assertions.Expect(page.Locator("#connection")).ToHaveTextAsync("live");
            await Assertions.Expect(page.Locator("#workers tbody")).ToContainTextAsync("1.0.0");

            // A rolling update of the worker: the same pod name comes back with another version.
            await worker.DisposeAsync();
            worker = await RunningService.StartAsync(ServiceNames.Worker, new(Worker) { ["RAMCOIN_VERSION"] = "2.0.0" }, Profile.Fast, peers.With(store));
            var version = page.Locator("#timeline li[data-kind=version]");
            await Assertions.Expect(version).ToContainTextAsync("worker version 1.0.0 → 2.0.0", new() { Timeout = 15_000 });

            // The store goes away (kill -9) and comes back on the same port with its data.
            await store.KillAsync();
            await Assertions.Expect(page.Locator("#timeline li[data-kind=store-down]")).ToHaveCountAsync(1, new() { Timeout = 15_000 });
            await store.DisposeAsync();
            store = await StoreServer.StartProcessAsync("redis-server", port, dataDir);
            await Assertions.Expect(page.Locator("#timeline li[data-kind=store-back]")).ToContainTextAsync("the store answers again", new() { Timeout = 20_000 });

            await ExpectMarkersAsync(page);
            await page.ReloadAsync();
            await Assertions.Expect(page.Locator("#connection")).ToHaveTextAsync("live");
            await Assertions.Expect(page.Locator("#timeline li[data-kind=version]")).ToContainTextAsync("worker version 1.0.0 → 2.0.0");
            await Assertions.Expect(page.Locator("#timeline li[data-kind=store-down]")).ToHaveCountAsync(1);
            await ExpectMarkersAsync(page);
            Assert.Equal("timeline.csv", await page.Locator("a[href='timeline.csv']").GetAttributeAsync("href"));
            Assert.Empty(await Pages.ViolationsAsync(page));
            Assert.Empty(errors);
            await Pages.SaveScreenshotAsync(page, "timeline.png");
            await page.CloseAsync();

            // The exports: the same events, and the series with the outage as empty samples.
            var timeline = await webui.Client.GetFromJsonAsync<JsonElement>("/timeline.json", Ct);
            var events = timeline.GetProperty("events").EnumerateArray().ToList();
            var kinds = events.Select(e => e.GetProperty("kind").GetString()).ToList();
            Assert.Equal(["start", "version", "store-down", "store-back"], kinds.Where(k => k is "start" or "version" or "store-down" or "store-back"));
            var down = events.Single(e => e.GetProperty("kind").GetString() == "store-down").GetProperty("at").GetDouble();
            var back = events.Single(e => e.GetProperty("kind").GetString() == "store-back").GetProperty("at").GetDouble();
            var series = timeline.GetProperty("t").EnumerateArray().Zip(timeline.GetProperty("hashes").EnumerateArray()).ToList();
            Assert.All(series.Where(p => p.First.GetDouble() >= down && p.First.GetDouble() < back), p => Assert.Equal(JsonValueKind.Null, p.Second.ValueKind));
            Assert.Contains(series, p => p.Second.ValueKind == JsonValueKind.Number && p.Second.GetInt64() > 0);

            using var csv = await webui.Client.GetAsync("/timeline.csv", Ct);
            Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
            var rows = (await csv.Content.ReadAsStringAsync(Ct)).Split('\n');
            Assert.Equal("unix_time,utc,hashes,hashes_per_second,expected_ceiling,events", rows[0]);
            Assert.Single(rows, r => r.Contains("version: worker version 1.0.0 → 2.0.0", StringComparison.Ordinal));
            Assert.Single(rows, r => r.Contains("store-down: the store does not answer", StringComparison.Ordinal));
            Assert.Contains(rows, r => r.Contains("Z,,,,", StringComparison.Ordinal)); // a sample while the store was down
        }
        finally
        {
            if (worker is not null)
            {
                await worker.DisposeAsync();
            }

            await store.DisposeAsync();
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>Each kind that matters has its marker on the mining chart, inside the plot.</summary>
    private static async Task ExpectMarkersAsync(IPage page)
    {
        foreach (var kind in new[] { "version", "store-down", "store-back" })
        {
            var marker = page.Locator($"#rate-chart .marker[data-kind={kind}]");
            await Assertions.Expect(marker).ToHaveCountAsync(1);
            var place = await marker.EvaluateAsync<double[]>("m => [m.offsetLeft, m.parentElement.clientWidth]");
            Assert.InRange(place[0], 0, place[1]);
        }

        await Assertions.Expect(page.Locator("#rate-chart .marker[data-kind=version]")).ToHaveAttributeAsync("title", new System.Text.RegularExpressions.Regex("worker version 1.0.0 → 2.0.0"));
    }
}
