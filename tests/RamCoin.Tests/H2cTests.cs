using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace RamCoin.Tests;

/// <summary>
/// HTTP/2 without TLS (h2c) on a second port of rng and hasher, and a worker that calls them there
/// (the fast profile's wiring): the HTTP/1.1 port and its contract stay as they were.
/// </summary>
public sealed class H2cTests
{
    /// <summary>A client that speaks HTTP/2 with prior knowledge, as the worker does with WORKER_H2C=true.</summary>
    private static HttpClient Http2Client() => new()
    {
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(10),
    };

    [Fact]
    public async Task RngAndHasherAnswerHttp2OnTheirH2cPortAndHttp1OnTheirOwnPort()
    {
        var (rngH2c, hasherH2c) = (FreePort.Next(), FreePort.Next());
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, new() { [H2cListener.PortSetting] = $"{rngH2c}" }, Profile.Fast);
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, new() { [H2cListener.PortSetting] = $"{hasherH2c}" }, Profile.Fast);
        Assert.Equal(new Uri($"http://127.0.0.1:{rngH2c}"), rng.Get<H2cListener>().Url);

        // DockerCoins' clients: HTTP/1.1 on the service's own port, unchanged.
        using var classic = await rng.Client.GetAsync("/32", Ct);
        Assert.Equal(HttpVersion.Version11, classic.Version);
        Assert.Equal(32, (await classic.Content.ReadAsByteArrayAsync(Ct)).Length);

        // The h2c port: HTTP/2 with prior knowledge, the same answers.
        using var http2 = Http2Client();
        using var bytes = await http2.GetAsync($"http://127.0.0.1:{rngH2c}/32", Ct);
        Assert.Equal(HttpVersion.Version20, bytes.Version);
        Assert.Equal(HttpStatusCode.OK, bytes.StatusCode);
        Assert.Equal("application/octet-stream", bytes.Content.Headers.ContentType?.MediaType);
        var random = await bytes.Content.ReadAsByteArrayAsync(Ct);
        Assert.Equal(32, random.Length);

        using var content = new ByteArrayContent(random);
        using var hashed = await http2.PostAsync($"http://127.0.0.1:{hasherH2c}/", content, Ct);
        Assert.Equal(HttpVersion.Version20, hashed.Version);
        Assert.Equal("text/plain", hashed.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(random)), await hashed.Content.ReadAsStringAsync(Ct));

        // Bad input gets its problem details over HTTP/2 too.
        using var bad = await http2.GetAsync($"http://127.0.0.1:{rngH2c}/abc", Ct);
        await ProblemAssert.IsProblemAsync(bad, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task TheWorkerMinesOverH2cAndEveryHashLandsInTheStore()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        var (rngH2c, hasherH2c) = (FreePort.Next(), FreePort.Next());
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, new() { [H2cListener.PortSetting] = $"{rngH2c}" }, Profile.Fast);
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, new() { [H2cListener.PortSetting] = $"{hasherH2c}" }, Profile.Fast);
        // The h2c ports speak only HTTP/2: a worker that fell back to HTTP/1.1 there would fail every call.
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker,
            new()
            {
                ["RNG_URL"] = $"http://127.0.0.1:{rngH2c}",
                ["HASHER_URL"] = $"http://127.0.0.1:{hasherH2c}/",
                ["WORKER_H2C"] = "true",
                ["WORKER_FLUSH_MS"] = "200",
                // DockerCoins' difficulty: coins to verify within a second.
                ["DIFFICULTY"] = "0",
            },
            Profile.Fast,
            store.Peers());
        var stats = worker.Get<MiningStats>();

        await Eventually.TrueAsync(() => stats.Written >= 500, "the worker writes 500 hashes mined over h2c");
        await worker.DisposeAsync();

        Assert.Equal(0, stats.Errors);
        Assert.Equal(stats.Computed, (long)await (await store.DatabaseAsync()).StringGetAsync(StoreKeys.Hashes));
        WalletAssert.AllVerify(await (await store.DatabaseAsync()).HashGetAllAsync(StoreKeys.Wallet));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("70000")]
    public async Task AnH2cPortThatIsNotAPortStopsTheServiceWithItsName(string value)
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            RunningService.StartAsync(ServiceNames.Hasher, new() { [H2cListener.PortSetting] = value }));

        Assert.Equal($"RAMCOIN_H2C_PORT must be a port from 1 to 65535 (it is '{value}').", Assert.Single(failure.Failures));
    }

    [Theory]
    [InlineData("RNG_URL", "h2c://rng:81", "RNG_URL must be an absolute http:// or https:// URL (it is 'h2c://rng:81'). For HTTP/2 without TLS, give http://host:port with WORKER_H2C=true.")]
    [InlineData("HASHER_URL", "ftp://hasher", "HASHER_URL must be an absolute http:// or https:// URL (it is 'ftp://hasher').")]
    [InlineData("WORKER_H2C", "true", "WORKER_H2C=true calls HTTP/2 without TLS: RNG_URL and HASHER_URL must then be http:// URLs.")]
    [InlineData("WORKER_H2C", "1", "WORKER_H2C must be true or false (it is '1').")]
    public async Task APeerUrlOrH2cSettingThatCannotWorkStopsTheWorkerWithItsName(string setting, string value, string expected)
    {
        var settings = new Dictionary<string, string?> { [setting] = value };
        if (setting == "WORKER_H2C" && value == "true")
        {
            settings["RNG_URL"] = "https://rng";
        }

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RunningService.StartAsync(ServiceNames.Worker, settings));

        // A value the binder cannot convert is worded by the program that starts the service, the same way.
        Assert.Contains(expected, failure is OptionsValidationException invalid ? invalid.Failures : [OptionChecks.Unconvertible(failure) ?? failure.Message]);
    }

    [Theory]
    [InlineData("http://rng", "http://rng/")]
    [InlineData("http://proxy/api/v1/namespaces/ramcoin/services/rng/proxy", "http://proxy/api/v1/namespaces/ramcoin/services/rng/proxy/")]
    public void APeersBaseAddressEndsWithASlash(string url, string expected) =>
        Assert.Equal(new Uri(expected), PeerAddresses.BaseAddress(url));

    [Theory]
    [InlineData("rng", null, null, true)]
    [InlineData("hasher", null, null, true)]
    [InlineData("hasher", null, "81", false)]
    [InlineData("worker", null, null, false)]
    [InlineData("webui", null, null, false)]
    [InlineData("rng", "false", null, false)]
    [InlineData("rng", "True", "81", true)]
    [InlineData("worker", "true", null, true)]
    [InlineData("rng", "yes", null, null)]
    public void RequestsRunInlineInRngAndHasherBinariesWithoutAnH2cPortUnlessTheSettingSaysOtherwise(string service, string? setting, string? h2cPort, bool? expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [HostingOptions.InlineSetting] = setting, [H2cListener.PortSetting] = h2cPort })
            .Build();
        var checks = new OptionChecks();
        var hosting = HostingOptions.Read(configuration, checks);

        Assert.Equal(expected, checks.Result.Succeeded ? hosting.RunsInline(service) : null);
    }

    [Fact]
    public void InTheFastProfileTheLauncherGivesRngAndHasherAnH2cPortAndTheWorkerUsesIt()
    {
        var fast = new LauncherSettings { Profile = Profile.Fast };
        var h2c = Launcher.H2cPorts(fast);
        static string? Setting(ServiceConfiguration c, string key) => c.Settings.GetValueOrDefault(key);

        Assert.Equal([ServiceNames.Hasher, ServiceNames.Rng], h2c.Keys.Order());
        Assert.Equal($"{h2c[ServiceNames.Rng]}", Setting(Launcher.ConfigurationFor(fast, ServiceNames.Rng, h2c), H2cListener.PortSetting));
        Assert.Equal($"{h2c[ServiceNames.Hasher]}", Setting(Launcher.ConfigurationFor(fast, ServiceNames.Hasher, h2c), H2cListener.PortSetting));
        Assert.Null(Setting(Launcher.ConfigurationFor(fast, ServiceNames.WebUI, h2c), H2cListener.PortSetting));
        var worker = Launcher.ConfigurationFor(fast, ServiceNames.Worker, h2c);
        Assert.Equal(($"http://127.0.0.1:{h2c[ServiceNames.Rng]}", $"http://127.0.0.1:{h2c[ServiceNames.Hasher]}"), (worker.Defaults["RNG_URL"], worker.Defaults["HASHER_URL"]));
        Assert.Equal("true", Setting(worker, "WORKER_H2C"));
        Assert.Null(Setting(Launcher.ConfigurationFor(fast, ServiceNames.WebUI, h2c), "WORKER_H2C"));
        // The web UI's knob calls stay on HTTP/1.1.
        Assert.Equal("http://127.0.0.1:8001", Launcher.ConfigurationFor(fast, ServiceNames.WebUI, h2c).Defaults["RNG_URL"]);

        // Classic: DockerCoins' protocol everywhere; and no h2c without a worker in the process to use it.
        Assert.Empty(Launcher.H2cPorts(new LauncherSettings()));
        Assert.Equal("http://127.0.0.1:8001", Launcher.ConfigurationFor(new LauncherSettings(), ServiceNames.Worker).Defaults["RNG_URL"]);
        Assert.Empty(Launcher.H2cPorts(fast with { Targets = [ServiceNames.Rng] }));
        // Both peers or neither: one setting says h2c for both.
        Assert.Empty(Launcher.H2cPorts(fast with { Targets = [ServiceNames.Rng, ServiceNames.Worker] }));
    }
}
