using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RamCoin.Tests;

public sealed partial class WebUITests
{
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
    [StoreKinds]
    public async Task JsonCountsTheWalletAndTheHashCounter(string kind)
    {
        await using var store = await StoreServer.StartAsync(kind);
        var db = await store.DatabaseAsync();
        await db.StringSetAsync(StoreKeys.Hashes, 4242);
        await db.HashSetAsync(StoreKeys.Wallet, [new("0a", new byte[] { 1 }), new("0b", new byte[] { 2 }), new("0c", new byte[] { 3 })]);
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: store.Peers());

        // The first answer can be the "not ready" 503 on a loaded machine; the first 200 is application/json.
        var json = await MiningJson.FirstAsync(webui.Client);

        Assert.Equal(3, json.GetProperty("coins").GetInt64());
        Assert.Equal(4242, json.GetProperty("hashes").GetInt64());
        Assert.InRange(json.GetProperty("now").GetDouble(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
    }

    [Fact]
    public async Task ReadsAPasswordProtectedStoreWithRedisPassword()
    {
        await using var store = await StoreServer.StartGarnetAsync(password: "s3cret-store-password");
        await (await store.DatabaseAsync()).StringSetAsync(StoreKeys.Hashes, 7);
        await using var wrong = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["REDIS_PASSWORD"] = "nope", ["REDIS_TIMEOUT_MS"] = "500" }, peers: store.Peers());
        await using var right = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["REDIS_PASSWORD"] = "s3cret-store-password" }, peers: store.Peers());

        var json = await MiningJson.FirstAsync(right.Client);
        using var refused = await wrong.Client.GetAsync("/json", Ct);

        Assert.Equal(7, json.GetProperty("hashes").GetInt64());
        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
    }

    [Fact]
    public async Task JsonOfAnEmptyStoreIsZero()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: store.Peers());

        // The first read can miss /json's 80 ms store budget on a loaded machine (its first store connection): a 503
        // problem that any poller retries, as the next test shows. The figures of the first 200 are what count.
        var json = await MiningJson.FirstAsync(webui.Client);

        Assert.Equal(0, json.GetProperty("coins").GetInt64());
        Assert.Equal(0, json.GetProperty("hashes").GetInt64());
    }

    [Fact]
    public async Task StartsWithoutTheStoreAndAnswers503WithAProblemQuickly()
    {
        var nobody = new PeerAddresses("http://rng", "http://hasher", "127.0.0.1", FreePort.Next());
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["REDIS_TIMEOUT_MS"] = "5000" }, peers: nobody);

        var clock = Stopwatch.StartNew();
        using var response = await webui.Client.GetAsync("/json", Ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        // The budget is 80 ms; the bound here only proves that /json does not wait for the store timeout (5 s).
        Assert.True(clock.ElapsedMilliseconds < 2500, $"answered after {clock.ElapsedMilliseconds} ms");
        Assert.Equal(HttpStatusCode.OK, (await webui.Client.GetAsync("/index.html", Ct)).StatusCode);
    }

    [Fact]
    public async Task UnknownPathGets404WithAProblem()
    {
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI);

        using var response = await webui.Client.GetAsync("/nope", Ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task TheKnobPassThroughWantsABearerTokenBeforeItReadsOrSendsOnAnything()
    {
        await using var upstream = await FakeAdminApi.StartAsync(200, "application/json", "{}");
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["RNG_URL"] = upstream.Url });

        using var none = await webui.Client.PutAsync("/knobs/rng", Json("{\"RNG_DELAY_MS\": 250}"), Ct);
        using var empty = await PutKnobsAsync(webui, "rng", "{\"RNG_DELAY_MS\": 250}", "Bearer ");
        using var basic = await PutKnobsAsync(webui, "rng", "{\"RNG_DELAY_MS\": 250}", "Basic dGVhY2g6ZXI=");
        // A body far past the cap, refused before anything reaches rng.
        using var huge = await PutKnobsAsync(webui, "rng", $"{{\"RNG_DELAY_MS\": \"{new string('9', 64 * 1024)}\"}}", "Bearer " + AdminKnobs.Token);

        await ProblemAssert.IsProblemAsync(none, HttpStatusCode.Unauthorized);
        await ProblemAssert.IsProblemAsync(empty, HttpStatusCode.Unauthorized);
        await ProblemAssert.IsProblemAsync(basic, HttpStatusCode.Unauthorized);
        await ProblemAssert.IsProblemAsync(huge, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(0, upstream.Requests);
    }

    [Theory]
    [InlineData(200, "text/html", "<script>alert(document.cookie)</script>", 502)]
    [InlineData(200, "application/json", "{\"RNG_DELAY_MS\": ", 502)] // not JSON, whatever it says it is
    [InlineData(500, "application/json", "{}", 502)]
    [InlineData(302, "application/json", "{}", 502)] // not followed: the token goes nowhere the settings did not name
    [InlineData(403, "application/problem+json", "{\"status\": 403, \"title\": \"Wrong token\"}", 403)]
    [InlineData(200, "application/json", "{\"RNG_DELAY_MS\": \"250\"}", 200)]
    public async Task TheKnobPassThroughAnswersJsonWhateverTheServiceAnswers(int status, string contentType, string body, int expected)
    {
        await using var upstream = await FakeAdminApi.StartAsync(status, contentType, body);
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["RNG_URL"] = upstream.Url });

        using var response = await PutKnobsAsync(webui, "rng", "{\"RNG_DELAY_MS\": 250}", "Bearer " + AdminKnobs.Token);

        if (expected == 200)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(body, await response.Content.ReadAsStringAsync(Ct));
        }
        else
        {
            await ProblemAssert.IsProblemAsync(response, (HttpStatusCode)expected);
        }

        Assert.Equal("Bearer s3cret-teacher-token", upstream.LastAuthorization);
        Assert.Equal(1, upstream.Requests);
    }

    [Fact]
    public async Task KnobListsThatAreNotListsOfKnobsShowAsErrors()
    {
        await using var html = await FakeAdminApi.StartAsync(200, "text/html", "<h1>hi</h1>");
        await using var nested = await FakeAdminApi.StartAsync(200, "application/json", "{\"RNG_DELAY_MS\": {\"a\": 1}}");
        await using var huge = await FakeAdminApi.StartAsync(200, "application/json", $"{{\"RNG_DELAY_MS\": \"{new string('9', 1024 * 1024)}\"}}");
        await using var webui = await RunningService.StartAsync(
            ServiceNames.WebUI, new() { ["RNG_URL"] = html.Url, ["HASHER_URL"] = nested.Url, ["WORKER_URL"] = huge.Url });

        var knobs = await webui.Client.GetFromJsonAsync<JsonElement>("/knobs", Ct);

        foreach (var service in new[] { "rng", "hasher", "worker" })
        {
            Assert.False(string.IsNullOrEmpty(knobs.GetProperty(service).GetProperty("error").GetString()), $"{service}: {knobs.GetProperty(service)}");
        }
    }

    [Fact]
    public async Task AKnobListWithADuplicateNameIsAnErrorNotA500()
    {
        await using var twice = await FakeAdminApi.StartAsync(200, "application/json", "{\"RNG_DELAY_MS\": \"0\", \"RNG_DELAY_MS\": \"5\"}");
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["RNG_URL"] = twice.Url });

        using var read = await webui.Client.GetAsync("/knobs", Ct);
        using var change = await PutKnobsAsync(webui, "rng", "{\"RNG_DELAY_MS\": 250}", "Bearer " + AdminKnobs.Token);

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.False(string.IsNullOrEmpty((await read.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("rng").GetProperty("error").GetString()));
        // Passed on as the service answered it: a knob list, even a strange one, is its answer, not the web UI's failure.
        Assert.Equal(HttpStatusCode.OK, change.StatusCode);
    }

    [Theory]
    [InlineData("RNG_URL", "ftp://rng")]
    [InlineData("HASHER_URL", "hasher")]
    [InlineData("WORKER_URL", "worker:80")]
    public async Task ABadPeerUrlStopsTheWebUIAtStart(string setting, string value)
    {
        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => RunningService.StartAsync(ServiceNames.WebUI, new() { [setting] = value }));

        Assert.Equal($"{setting} must be an absolute http:// or https:// URL (it is '{value}').", Assert.Single(failure.Failures));
    }

    [Fact]
    public async Task EveryAnswerForbidsSniffingAndFramingAndThePageAllowsOnlyItsOwnOriginAndItsOwnStyle()
    {
        var nobody = new PeerAddresses("http://rng", "http://hasher", "127.0.0.1", FreePort.Next());
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["REDIS_TIMEOUT_MS"] = "500" }, peers: nobody);

        using var page = await webui.Client.GetAsync("/index.html", Ct);
        var policy = page.Headers.GetValues("Content-Security-Policy").Single();

        Assert.Contains("default-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'self';", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe", policy, StringComparison.Ordinal);
        // index.html's one inline style (font-size: 15px), allowed by its hash, and nothing else inline.
        Assert.Single(Regex.Matches(policy, "'sha256-[A-Za-z0-9+/=]{44}'"));
        foreach (var path in new[] { "/index.html", "/app.js", "/dashboard.css", "/json", "/nope", "/knobs/nope" })
        {
            using var response = path.StartsWith("/knobs", StringComparison.Ordinal)
                ? await webui.Client.PutAsync(path, Json("{}"), Ct)
                : await webui.Client.GetAsync(path, Ct);
            Assert.True(response.Headers.TryGetValues("X-Content-Type-Options", out var nosniff) && nosniff.Single() == "nosniff", $"{path}: nosniff");
            Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        }
    }

    private static StringContent Json(string body) => new(body, System.Text.Encoding.UTF8, "application/json");

    private static async Task<HttpResponseMessage> PutKnobsAsync(RunningService webui, string service, string body, string authorization)
    {
        using var request = AdminKnobs.Put(body, authorization, $"/knobs/{service}");
        return await webui.Client.SendAsync(request, Ct);
    }

    /// <summary>A stand-in admin API that answers every request the same way and counts what reached it.</summary>
    private sealed class FakeAdminApi : IAsyncDisposable
    {
        private StandInServer? _server;
        private int _requests;

        public string Url => _server!.Address.ToString().TrimEnd('/');

        public int Requests => Volatile.Read(ref _requests);

        public string? LastAuthorization { get; private set; }

        public static async Task<FakeAdminApi> StartAsync(int status, string contentType, string body)
        {
            var fake = new FakeAdminApi();
            fake._server = await StandInServer.StartAsync(async context =>
            {
                Interlocked.Increment(ref fake._requests);
                fake.LastAuthorization = context.Request.Headers.Authorization;
                context.Response.StatusCode = status;
                context.Response.ContentType = contentType;
                if (status == 302)
                {
                    context.Response.Headers.Location = "/again";
                }

                await context.Response.WriteAsync(body, context.RequestAborted);
            });
            return fake;
        }

        public async ValueTask DisposeAsync() => await _server!.DisposeAsync();
    }

    [GeneratedRegex("""(src|href)\s*=\s*["'](https?:|//|/)|fetch\(\s*["'](https?:|/)""")]
    private static partial Regex AbsoluteReference();
}
