using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using RamCoin.Hosting;
using RamCoin.StoreContract;
using RamCoin.Tests.Infrastructure;

namespace RamCoin.Tests;

public sealed partial class WebUITests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RootRedirectsToIndexHtmlWithARelativeUrl()
    {
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI);
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = webui.Address };

        using var response = await client.GetAsync("/", Ct);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("index.html", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task PageUsesRelativeUrlsOnlyAndKeepsThe15pxFontSize()
    {
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI);

        using var response = await webui.Client.GetAsync("/index.html", Ct);
        var html = await response.Content.ReadAsStringAsync(Ct);
        var script = await webui.Client.GetStringAsync("/app.js", Ct);

        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("font-size: 15px", html, StringComparison.Ordinal);
        Assert.Contains("src=\"app.js\"", html, StringComparison.Ordinal);
        Assert.Contains("new EventSource(\"events\")", script, StringComparison.Ordinal);
        Assert.Contains("fetch(\"dashboard.json\"", script, StringComparison.Ordinal);
        // Nothing from the internet and nothing rooted at "/": the page must work behind kubectl proxy's prefix.
        Assert.Empty(AbsoluteReference().Matches(html + script));
    }

    [Theory]
    [InlineData("garnet")]
    [InlineData("redis-server")]
    public async Task JsonCountsTheWalletAndTheHashCounter(string kind)
    {
        StoreServer.SkipUnlessRedisInstalled(kind);
        await using var store = await StoreServer.StartAsync(kind);
        var db = await store.DatabaseAsync();
        await db.StringSetAsync(StoreKeys.Hashes, 4242);
        await db.HashSetAsync(StoreKeys.Wallet, [new("0a", new byte[] { 1 }), new("0b", new byte[] { 2 }), new("0c", new byte[] { 3 })]);
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: store.Peers());

        using var response = await webui.Client.GetAsync("/json", Ct);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(3, json.GetProperty("coins").GetInt64());
        Assert.Equal(4242, json.GetProperty("hashes").GetInt64());
        Assert.InRange(json.GetProperty("now").GetDouble(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
    }

    [Fact]
    public async Task ReadsAPasswordProtectedStoreWithRedisPassword()
    {
        await using var store = await StoreServer.StartGarnetAsync(password: "s3cret");
        await (await store.DatabaseAsync()).StringSetAsync(StoreKeys.Hashes, 7);
        await using var wrong = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["REDIS_PASSWORD"] = "nope", ["REDIS_TIMEOUT_MS"] = "500" }, peers: store.Peers());
        await using var right = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["REDIS_PASSWORD"] = "s3cret" }, peers: store.Peers());

        var json = await right.Client.GetFromJsonAsync<JsonElement>("/json", Ct);
        using var refused = await wrong.Client.GetAsync("/json", Ct);

        Assert.Equal(7, json.GetProperty("hashes").GetInt64());
        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task JsonOfAnEmptyStoreIsZero()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: store.Peers());

        var json = await webui.Client.GetFromJsonAsync<JsonElement>("/json", Ct);

        Assert.Equal(0, json.GetProperty("coins").GetInt64());
        Assert.Equal(0, json.GetProperty("hashes").GetInt64());
    }

    [Fact]
    public async Task StartsWithoutTheStoreAndAnswers503WithAProblemQuickly()
    {
        var nobody = new PeerAddresses("http://rng", "http://hasher", "127.0.0.1", FreePort.Next());
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["REDIS_TIMEOUT_MS"] = "500" }, peers: nobody);

        var clock = Stopwatch.StartNew();
        using var response = await webui.Client.GetAsync("/json", Ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        // The budget is 80 ms; the bound here only proves that /json does not wait for the store timeout (500 ms).
        Assert.True(clock.ElapsedMilliseconds < 450, $"answered after {clock.ElapsedMilliseconds} ms");
        Assert.Equal(HttpStatusCode.OK, (await webui.Client.GetAsync("/index.html", Ct)).StatusCode);
    }

    [Fact]
    public async Task UnknownPathGets404WithAProblem()
    {
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI);

        using var response = await webui.Client.GetAsync("/nope", Ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }

    [GeneratedRegex("""(src|href)\s*=\s*["'](https?:|//|/)|fetch\(\s*["'](https?:|/)""")]
    private static partial Regex AbsoluteReference();
}
