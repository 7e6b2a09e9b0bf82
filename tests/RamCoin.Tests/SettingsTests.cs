using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RamCoin.Store;

namespace RamCoin.Tests;

/// <summary>
/// Every setting is read and checked once, typed: a bad value stops the service's own binary and <c>ramcoin &lt;service&gt;</c>
/// alike, with exit code 2 and one line that names the variable and what it accepts. The launcher runs every case in this
/// process (its Program.cs entry, <see cref="LauncherInProcess"/>); each service's own binary runs as a process for one
/// case of each way a setting is refused (before the host is built, while it is built, when its options are checked at
/// start), since the binary refuses every other case through the same builder, services and checks as the launcher.
/// </summary>
public sealed class SettingsTests
{
    /// <summary>Each bad setting, the service it stops, and the message's end.</summary>
    public static TheoryData<string, string, string, string> BadSettings() => new()
    {
        { ServiceNames.Rng, "RAMCOIN_REQUEST_TIMEOUT_MS", "5", "RAMCOIN_REQUEST_TIMEOUT_MS must be from 100 to 600000 (it is '5')." },
        { ServiceNames.Hasher, "RAMCOIN_ACCESS_LOG", "yes", "RAMCOIN_ACCESS_LOG must be true or false (it is 'yes')." },
        { ServiceNames.Rng, "RAMCOIN_ADMIN_TOKEN", "short", "RAMCOIN_ADMIN_TOKEN must be at least 16 characters (it has 5); generate one with: openssl rand -hex 16" },
        { ServiceNames.Hasher, "RAMCOIN_H2C_PORT", "http", "RAMCOIN_H2C_PORT must be a port from 1 to 65535 (it is 'http')." },
        { ServiceNames.Rng, "RAMCOIN_INLINE_SCHEDULING", "yes", "RAMCOIN_INLINE_SCHEDULING must be true or false (it is 'yes')." },
        { ServiceNames.WebUI, "DIFFICULTY", "xyz", "DIFFICULTY must be a hex prefix of 1 to 16 characters, such as 0 or 00 (it is 'xyz')." },
        { ServiceNames.Worker, "DIFFICULTY", "", "DIFFICULTY must be a hex prefix of 1 to 16 characters, such as 0 or 00 (it is '')." },
        { ServiceNames.WebUI, "REDIS_HOST", "127.0.0.1:notaport", "REDIS_HOST must be a host, or host:port with a port from 1 to 65535, such as redis, redis:6380 or [::1]:6380 (it is '127.0.0.1:notaport')." },
        { ServiceNames.Worker, "REDIS_HOST", "127.0.0.1:70000", "REDIS_HOST must be a host, or host:port with a port from 1 to 65535, such as redis, redis:6380 or [::1]:6380 (it is '127.0.0.1:70000')." },
        { ServiceNames.Rng, "RNG_CONCURRENCY", "0", "RNG_CONCURRENCY must be from 1 to 100000 (it is 0)." },
        { ServiceNames.Rng, "RNG_DELAY_MS", "abc", "RNG_DELAY_MS must be a whole number (it is 'abc')." },
        { ServiceNames.Hasher, "RAMCOIN_FORCE_UNREADY", "maybe", "RAMCOIN_FORCE_UNREADY must be true or false (it is 'maybe')." },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task ABadSettingExitsWith2AndNamesTheVariableFromTheLauncher(string service, string variable, string value, string message)
    {
        var result = await LauncherInProcess.RunAsync(
            [service, $"--{service}-port", FreePort.Next().ToString(CultureInfo.InvariantCulture)],
            new Dictionary<string, string?> { [variable] = value });

        AssertRefused(result, "ramcoin", message);
    }

    /// <summary>
    /// Refused before the host is built (RAMCOIN_INLINE_SCHEDULING, read by the program itself), while it is built
    /// (RAMCOIN_ACCESS_LOG), and by the options' checks at start (the others); one case for each binary.
    /// </summary>
    [Theory]
    [InlineData(ServiceNames.Rng, "RAMCOIN_INLINE_SCHEDULING", "yes", "RAMCOIN_INLINE_SCHEDULING must be true or false (it is 'yes').")]
    [InlineData(ServiceNames.Rng, "RNG_CONCURRENCY", "0", "RNG_CONCURRENCY must be from 1 to 100000 (it is 0).")]
    [InlineData(ServiceNames.Hasher, "RAMCOIN_ACCESS_LOG", "yes", "RAMCOIN_ACCESS_LOG must be true or false (it is 'yes').")]
    [InlineData(ServiceNames.WebUI, "DIFFICULTY", "xyz", "DIFFICULTY must be a hex prefix of 1 to 16 characters, such as 0 or 00 (it is 'xyz').")]
    [InlineData(ServiceNames.Worker, "REDIS_HOST", "127.0.0.1:70000", "REDIS_HOST must be a host, or host:port with a port from 1 to 65535, such as redis, redis:6380 or [::1]:6380 (it is '127.0.0.1:70000').")]
    [InlineData(ServiceNames.Store, "RAMCOIN_STORE_PORT", "70000", "RAMCOIN_STORE_PORT must be a port from 1 to 65535 (it is '70000').")]
    [InlineData(ServiceNames.Store, "RAMCOIN_STORE_PORT", "abc", "RAMCOIN_STORE_PORT must be a whole number (it is 'abc').")]
    public async Task ABadSettingExitsWith2AndNamesTheVariableFromTheServicesOwnBinary(string service, string variable, string value, string message)
    {
        var environment = new Dictionary<string, string?>
        {
            [variable] = value,
            // Where the binary listens if it wrongly starts: never port 80, never a port in use.
            ["ASPNETCORE_HTTP_PORTS"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
        };
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

        AssertRefused(await Repo.RunAsync(dotnet, [BinaryOf(service)], environment, timeoutSeconds: 30), service, message);
    }

    private static void AssertRefused((int ExitCode, string Output, string Error) result, string program, string message)
    {
        Assert.True(result.ExitCode == 2, $"{program}: {result.Describe()}");
        var error = result.Error.Trim();
        Assert.StartsWith(program + ": ", error, StringComparison.Ordinal);
        Assert.EndsWith(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Theory]
    [InlineData("redis", "redis", null)]
    [InlineData(" redis:6380 ", "redis", 6380)]
    [InlineData("10.0.0.6", "10.0.0.6", null)]
    [InlineData("10.0.0.6:1", "10.0.0.6", 1)]
    [InlineData("::1", "::1", null)]
    [InlineData("[::1]", "::1", null)]
    [InlineData("[::1]:6380", "::1", 6380)]
    [InlineData("redis:", null, null)]
    [InlineData(":6380", null, null)]
    [InlineData("redis:0", null, null)]
    [InlineData("redis:65536", null, null)]
    [InlineData("redis:+6380", null, null)]
    [InlineData("[::1", null, null)]
    [InlineData("[redis]:6380", null, null)]
    [InlineData("[::1]6380", null, null)]
    [InlineData("a:b:c", null, null)]
    public void RedisHostIsSplitIntoAHostAndAnOptionalPortOrRefused(string value, string? host, int? port)
    {
        var valid = StoreAddress.TryParseHost(value, out var parsedHost, out var parsedPort);

        Assert.Equal(host is not null, valid);
        if (valid)
        {
            Assert.Equal((host, port), (parsedHost, parsedPort));
        }
    }

    [Fact]
    public async Task AHostAndPortInRedisHostConnectsToThatPortWhateverRedisPortSays()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        var db = await store.DatabaseAsync();
        await db.StringSetAsync(StoreKeys.Hashes, 4242);

        // REDIS_PORT points nowhere: only REDIS_HOST's own port reaches the store.
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, new()
        {
            ["REDIS_HOST"] = $"127.0.0.1:{store.Port}",
            ["REDIS_PORT"] = FreePort.Next().ToString(CultureInfo.InvariantCulture),
            ["REDIS_TIMEOUT_MS"] = "500",
        });

        var options = webui.Get<IOptions<StoreClientOptions>>().Value;
        Assert.Equal(("127.0.0.1", store.Port), (options.HostName, options.Port));
        await Eventually.TrueAsync(
            async () => await MiningJson.ReadAsync(webui.Client) is { } json && json.GetProperty("hashes").GetInt64() == 4242,
            "the web UI reads the store at REDIS_HOST's port");
    }

    [Fact]
    public async Task TheLauncherHandsTheStoreItsSettingsAsConfigurationOverItsVariables()
    {
        var port = FreePort.Next();
        // The variables hold values the store would refuse: the launcher's configuration for the store is over them.
        var settings = new LauncherSettings
        {
            Targets = [ServiceNames.Store],
            StorePort = port,
            DataDir = null,
            Overrides = new Dictionary<string, string?> { ["RAMCOIN_STORE_PORT"] = "not-a-port", ["RAMCOIN_BIND"] = "nowhere" },
        };
        using var host = Targets.Build(Launcher.ConfigurationFor(settings, ServiceNames.Store));
        await host.StartAsync(Ct);

        await using var client = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}");
        Assert.True(await client.GetDatabase().StringSetAsync("configured", "yes"));
        await host.StopAsync(Ct);
    }

    [Fact]
    public void TheStoresOptionsKeepTheirPasswordTrimmedAndOutOfPrint()
    {
        var options = EmbeddedStoreOptions.From(
            new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["REDIS_PASSWORD"] = " s3cret-store-password\n" }).Build(), []);

        Assert.Equal("s3cret-store-password", options.Password);
        Assert.DoesNotContain("s3cret", options.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", new LauncherSettings { Overrides = new Dictionary<string, string?> { ["REDIS_PASSWORD"] = "s3cret" } }.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RAMCOIN_STORE_PORT", "abc", "RAMCOIN_STORE_PORT must be a whole number (it is 'abc').")]
    [InlineData("RAMCOIN_STORE_PORT", "0", "RAMCOIN_STORE_PORT must be a port from 1 to 65535 (it is '0').")]
    [InlineData("RAMCOIN_BIND", "localhost", "RAMCOIN_BIND must be an IP address (it is 'localhost').")]
    [InlineData("RAMCOIN_ALLOW_OPEN_STORE", "yes", "RAMCOIN_ALLOW_OPEN_STORE must be true or false (it is 'yes').")]
    [InlineData("REDIS_PASSWORD", "short", "REDIS_PASSWORD must be at least 16 characters (it has 5); generate one with: openssl rand -hex 16")]
    public async Task AStoreHostedWithoutTheLauncherChecksItsSettingsByTheirNamesAtStart(string variable, string value, string message)
    {
        var configuration = new ServiceConfiguration { Service = ServiceNames.Store, Variables = new Dictionary<string, string?> { [variable] = value } };
        using var host = Targets.Build(configuration);

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(Ct));

        Assert.True(ServiceProgram.IsBadSetting(failure));
        Assert.Equal(message, StoreProgram.Explain(failure));
    }

    /// <summary>The service's own program beside the tests (RamCoin.Rng.dll for rng): what its image runs, on the JIT here.</summary>
    private static string BinaryOf(string service) =>
        Path.Combine(AppContext.BaseDirectory, Directory.EnumerateFiles(AppContext.BaseDirectory, "RamCoin.*.runtimeconfig.json")
            .Select(f => Path.GetFileName(f)[..^".runtimeconfig.json".Length])
            .Single(name => string.Equals(name, "RamCoin." + service, StringComparison.OrdinalIgnoreCase)) + ".dll");
}
