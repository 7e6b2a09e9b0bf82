using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Playwright;
using RamCoin.WebUI;

namespace RamCoin.Tests;

/// <summary>
/// The store is untrusted input: anyone with redis-cli (or another student's worker) may write anything into any
/// key the services read. While every service runs against a real store, every kind of bad value goes into every such
/// key; every service keeps answering, the dashboard keeps updating, and every hash and coin the worker computed is
/// counted once the keys it writes are usable again.
/// </summary>
public sealed class HostileStoreTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const string Evil = "evil";

    /// <summary>Values no worker writes: empty, wrong JSON shapes, nulls, absurd numbers, huge, deep, binary.</summary>
    public static readonly RedisValue[] BadValues =
    [
        "", "{}", "null", "[]", "\"text\"", "42", "not json", "{\"rng\":null,\"hasher\":null}",
        "{\"version\":\"x\",\"delayMs\":1e308,\"concurrency\":1,\"at\":1,\"rng\":{},\"hasher\":{}}",
        "{\"version\":\"x\",\"delayMs\":0,\"concurrency\":1,\"at\":1,\"rng\":{\"p50Ms\":-5,\"p95Ms\":\"NaN\",\"inFlight\":-1,\"calls\":-9,\"instances\":null},\"hasher\":{\"instances\":{\"h\":null}}}",
        "{\"hash\":\"zz\",\"at\":1,\"worker\":null}", "{\"hash\":null}",
        "9000000000000000000", "-1", "abc", "NaN", "1e400", "99999999999999999999999",
        new string('[', 10_000), "{\"version\":\"" + new string('x', 200_000) + "\"}",
        Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(),
    ];

    [Theory]
    [StoreKinds]
    public async Task EveryServiceKeepsAnsweringWhateverTheStoreHoldsAndNothingComputedIsLost(string kind)
    {
        await using var rig = await MiningRig.StartAsync(kind);
        var (store, peers) = (rig.Store, rig.Peers);
        await using var worker = await rig.StartWorkerAsync(new() { ["WORKER_ID"] = "honest" });
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["DIFFICULTY"] = "0" }, peers: store.Peers());
        var stats = worker.Get<MiningStats>();
        var db = await store.DatabaseAsync();
        await Eventually.TrueAsync(() => stats.Written > 100 && stats.CoinsWritten > 3, "the worker mines");

        // Bad fields in every hash and list the services read, beside the honest worker's.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        for (var i = 0; i < BadValues.Length; i++)
        {
            var field = $"{Evil}{i}";
            await db.HashSetAsync(StoreKeys.WorkerTelemetry, field, BadValues[i]);
            await db.HashSetAsync(StoreKeys.WorkerSeen, field, i % 2 == 0 ? now : BadValues[i]);
            await db.HashSetAsync(StoreKeys.WorkerHashes, field, BadValues[i]);
            await db.HashSetAsync(StoreKeys.WorkerFlushes, field, BadValues[i]);
            await db.ListLeftPushAsync(StoreKeys.RecentCoins, BadValues[i]);
        }

        await db.HashSetAsync(StoreKeys.WorkerSeen, Evil, "9000000000000000000");
        await db.HashSetAsync(StoreKeys.WorkerTelemetry, Evil, "{}");
        await db.HashSetAsync(StoreKeys.WorkerSeen, new string('n', 100_000), now);
        await db.HashSetAsync(StoreKeys.Wallet, "not-a-coin", "bytes");
        await AllAnswerAsync(store, peers, worker, webui);

        // Then the wrong type in each key the web UI reads alone (the worker rewrites its own entries into them).
        foreach (var key in new[] { StoreKeys.WorkerTelemetry, StoreKeys.WorkerSeen, StoreKeys.WorkerHashes, StoreKeys.RecentCoins })
        {
            await ReplaceAsync(db, key, async () => await AllAnswerAsync(store, peers, worker, webui));
        }

        // The counter and the wallet themselves: the worker cannot write there for a while, and keeps what it found.
        await ReplaceAsync(db, StoreKeys.Hashes, async () => await AllAnswerAsync(store, peers, worker, webui));
        await ReplaceAsync(db, StoreKeys.Wallet, async () => await AllAnswerAsync(store, peers, worker, webui));

        await Eventually.TrueAsync(() => stats.Written > 0 && stats.Computed - stats.Written < 50_000, "the worker catches up", 30);
        await worker.DisposeAsync();
        Assert.Equal(stats.Computed, (long)await db.StringGetAsync(StoreKeys.Hashes));
        var wallet = (await db.HashGetAllAsync(StoreKeys.Wallet)).Where(c => c.Name != "not-a-coin").ToArray();
        Assert.Equal(stats.CoinsFound, wallet.Length);
        WalletAssert.AllVerify(wallet);

        Assert.False(webui.Get<DashboardSampler>().ExecuteTask?.IsCompleted, "the web UI's sampler still runs");
        var dashboard = await webui.Client.GetFromJsonAsync<JsonElement>("/dashboard.json", Ct);
        Assert.Contains(dashboard.GetProperty("workers").EnumerateArray(), w => w.GetProperty("instance").GetString() == "honest");
        Assert.DoesNotContain(dashboard.GetProperty("workers").EnumerateArray(), w => w.GetProperty("instance").GetString()!.StartsWith(Evil, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADashboardEventIsTheSameJsonAsDashboardJsonAndTheStreamsAreCapped()
    {
        await using var webui = await CappedWebUI.StartAsync(maxStreams: 2);

        using var first = await webui.OpenStreamAsync();
        using var second = await webui.OpenStreamAsync();
        Assert.Equal(HttpStatusCode.OK, first.Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.Response.StatusCode);
        var data = await first.NextEventAsync();
        using (var parsed = JsonDocument.Parse(data))
        {
            Assert.True(parsed.RootElement.GetProperty("now").GetDouble() > 0);
        }

        // A third viewer is refused with a reason and a time to come back; dashboard.json still answers.
        using var third = await webui.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, third.StatusCode);
        Assert.Equal("application/problem+json", third.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(third.Headers.RetryAfter);
        Assert.Contains("WEBUI_MAX_STREAMS", await third.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        using var poll = await webui.Client.GetAsync("/dashboard.json", Ct);
        Assert.Equal(HttpStatusCode.OK, poll.StatusCode);
        Assert.Equal("application/json", poll.Content.Headers.ContentType?.MediaType);

        // A closed stream frees its place.
        first.Dispose();
        await Eventually.TrueAsync(() => webui.Service.Get<DashboardBroadcaster>().Viewers == 1, "the closed stream is counted out");
        using var again = await webui.OpenStreamAsync();
        Assert.Equal(HttpStatusCode.OK, again.Response.StatusCode);
        Assert.Equal(await again.NextEventAsync(), webui.Service.Get<DashboardSampler>().LatestJson);
    }

    [Fact]
    public async Task APageRefusedALiveStreamPollsInstead()
    {
        await using var webui = await CappedWebUI.StartAsync(maxStreams: 1);
        using var taken = await webui.OpenStreamAsync();

        var page = await browser.OpenAsync(webui.Service);
        await Assertions.Expect(page.Locator("#connection")).ToHaveTextAsync("polling", new() { Timeout = 10_000 });
        await Assertions.Expect(page.Locator("#webui-version")).Not.ToBeEmptyAsync();
        await page.CloseAsync();
    }

    [Fact]
    public async Task AServiceWhoseBackgroundWorkFailsExitsNonZero()
    {
        // As the web UI's own program runs (rng and hasher would set the socket engine's inline mode for this process).
        var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.AddServiceDefaults(ServiceNames.WebUI);
        builder.Services.AddHostedService<FailingWork>();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        var exit = await app.RunServiceAsync();

        Assert.Equal(1, exit);
    }

    private sealed class FailingWork : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Delay(200, stoppingToken);
            throw new InvalidOperationException("a background loop met something it did not expect");
        }
    }

    /// <summary>The key holds another type for a while (set atomically), then its value comes back as it was.</summary>
    private static async Task ReplaceAsync(IDatabase db, string key, Func<Task> during)
    {
        var saved = key + ":saved-by-test";
        var swap = db.CreateTransaction();
        _ = swap.KeyDeleteAsync(saved);
        _ = swap.KeyRenameAsync(key, saved, When.Always);
        _ = key == StoreKeys.RecentCoins || key == StoreKeys.Hashes
            ? swap.HashSetAsync(key, Evil, "wrong type")
            : swap.StringSetAsync(key, "wrong type");
        Assert.True(await swap.ExecuteAsync());
        await Task.Delay(1500, Ct);
        await during();

        var restore = db.CreateTransaction();
        _ = restore.KeyDeleteAsync(key);
        _ = restore.KeyRenameAsync(saved, key);
        Assert.True(await restore.ExecuteAsync());
    }

    private static async Task AllAnswerAsync(StoreServer store, FastPeers peers, RunningService worker, RunningService webui)
    {
        foreach (var service in new[] { peers.Rng, peers.Hasher, worker, webui })
        {
            using var health = await service.Client.GetAsync("/healthz", Ct);
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        var computed = worker.Get<MiningStats>().Computed;
        await Eventually.TrueAsync(() => worker.Get<MiningStats>().Computed > computed, "the worker goes on mining");
        using var json = await webui.Client.GetAsync("/json", Ct);
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        var before = (await webui.Client.GetFromJsonAsync<JsonElement>("/dashboard.json", Ct)).GetProperty("now").GetDouble();
        await Eventually.TrueAsync(
            async () =>
            {
                var dashboard = await webui.Client.GetFromJsonAsync<JsonElement>("/dashboard.json", Ct);
                return dashboard.GetProperty("now").GetDouble() > before && !dashboard.GetProperty("stale").GetBoolean();
            },
            $"the dashboard updates (store {store.Kind})");
    }

    /// <summary>A web UI on an empty store that serves at most some live streams, and a client that can hold one open.</summary>
    private sealed record CappedWebUI(StoreServer Store, RunningService Service, HttpClient Client) : IAsyncDisposable
    {
        public static async Task<CappedWebUI> StartAsync(int maxStreams)
        {
            var store = await StoreServer.StartGarnetAsync();
            try
            {
                var webui = await RunningService.StartAsync(
                    ServiceNames.WebUI, new() { ["WEBUI_MAX_STREAMS"] = $"{maxStreams}" }, peers: store.Peers());
                return new(store, webui, new HttpClient { BaseAddress = webui.Address, Timeout = Timeout.InfiniteTimeSpan });
            }
            catch
            {
                await store.DisposeAsync();
                throw;
            }
        }

        public async Task<EventStream> OpenStreamAsync()
        {
            var response = await Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead, Ct);
            return new EventStream(response, new StreamReader(await response.Content.ReadAsStreamAsync(Ct), Encoding.UTF8));
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Service.DisposeAsync();
            await Store.DisposeAsync();
        }
    }

    private sealed record EventStream(HttpResponseMessage Response, StreamReader Reader) : IDisposable
    {
        /// <summary>The data of the next "dashboard" event.</summary>
        public async Task<string> NextEventAsync()
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            cts.CancelAfter(TimeSpan.FromSeconds(10));
            while (await Reader.ReadLineAsync(cts.Token) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    return line["data: ".Length..];
                }
            }

            throw new InvalidOperationException("the stream ended");
        }

        public void Dispose()
        {
            Reader.Dispose();
            Response.Dispose();
        }
    }
}
