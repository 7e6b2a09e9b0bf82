using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace RamCoin.Tests;

public sealed partial class LauncherTests
{
    [Fact]
    public async Task FastProfileMinesAndEverythingItCountedIsInTheStoreAfterARestart()
    {
        var dataDir = Directory.CreateTempSubdirectory("ramcoin-test-").FullName;
        var ports = LauncherPorts.Free();
        var (webui, rng, hasher, worker, store) = (ports.WebUI, ports.Rng, ports.Hasher, ports.Worker, ports.Store);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        long coins;
        string output;
        try
        {
            await using (var run = LauncherProcess.Start([.. ports.Options, "--profile", "fast", "--data-dir", dataDir]))
            {
                await run.WaitForOutputAsync("RamCoin is running");
                Assert.Contains($"Open http://127.0.0.1:{webui}/", run.Output, StringComparison.Ordinal);

                // The worker calls rng and hasher over HTTP/2 on the second ports the banner names.
                var h2cRng = H2cAddress().Match(run.Output.Split('\n').First(l => l.Contains($"rng http://127.0.0.1:{rng} ", StringComparison.Ordinal))).Groups[1].Value;
                using (var http2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact })
                using (var viaH2c = await http2.GetAsync(h2cRng + "/32", Ct))
                {
                    Assert.Equal(HttpVersion.Version20, viaH2c.Version);
                    Assert.Equal(32, (await viaH2c.Content.ReadAsByteArrayAsync(Ct)).Length);
                }

                // One meter provider for the process: every service's /metrics shows every service (the worker's
                // hashes on rng's port), each measurement aggregated once.
                await Eventually.TrueAsync(
                    async () => PrometheusText.Sum(await http.GetStringAsync($"http://127.0.0.1:{rng}/metrics", Ct), "ramcoin_worker_hashes_total") > 0,
                    "rng's /metrics shows the worker's hashes");

                // The web UI's counter rises.
                var first = await Hashes(http, webui);
                await Eventually.TrueAsync(async () => await Hashes(http, webui) > first + 100, "/json hashes rise");

                // Each service answers on its own port, as in the classic compose file.
                Assert.Equal(32, (await http.GetByteArrayAsync($"http://127.0.0.1:{rng}/32", Ct)).Length);
                using var hashed = await http.PostAsync($"http://127.0.0.1:{hasher}/", new StringContent("abc"), Ct);
                Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", await hashed.Content.ReadAsStringAsync(Ct));

                // The worker's totals bracket the store's counter: written <= counted <= computed.
                var before = await http.GetFromJsonAsync<JsonElement>($"http://127.0.0.1:{worker}/status", Ct);
                var counted = await Hashes(http, webui);
                var after = await http.GetFromJsonAsync<JsonElement>($"http://127.0.0.1:{worker}/status", Ct);
                Assert.InRange(counted, before.GetProperty("hashesWritten").GetInt64(), after.GetProperty("hashesComputed").GetInt64());

                var clock = Stopwatch.StartNew();
                run.Terminate();
                Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(10)), "ramcoin stops after SIGTERM");
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5.5), $"ramcoin took {clock.Elapsed} to stop; the budget is 5 s");
                Assert.Equal(0, run.ExitCode);
                coins = after.GetProperty("coinsFound").GetInt64();
                output = run.Output;
            }

            // Every hash the worker logged ("N units of work done") is in the counter after a restart.
            var logged = UnitsOfWork().Matches(output).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
            Assert.True(logged > 100, $"the worker logged {logged} units of work");
            await using var storeOnly = LauncherProcess.Start(["store", "--store-port", $"{store}", "--data-dir", dataDir]);
            await storeOnly.WaitForOutputAsync("RamCoin is running");
            await using var client = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{store}");
            var db = client.GetDatabase();
            Assert.Equal(logged, (long)await db.StringGetAsync(StoreKeys.Hashes));
            Assert.Equal(logged, (await db.HashValuesAsync(StoreKeys.WorkerHashes)).Sum(v => (long)v));
            Assert.True(await db.HashLengthAsync(StoreKeys.Wallet) >= coins, "the wallet survived the restart");
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task ATakenPortGivesAOneLineErrorAndANonZeroExit()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        // In this process (AnUnusableDataDirectoryGivesAOneLineError runs the program's own exit code 1).
        var run = await LauncherInProcess.RunAsync(["rng", "--rng-port", $"{port}"]);

        Assert.True(run.ExitCode == 1, run.Describe());
        Assert.Equal($"ramcoin: rng did not start: port {port} is already in use (choose another with --rng-port or RAMCOIN_RNG_PORT).", run.Error.Trim());
    }

    // A word NAME=value is an environment variable: the flags are a configuration layer over them, with the same messages.
    [Theory]
    [InlineData("--profile turbo", "ramcoin: --profile / RAMCOIN_PROFILE: 'turbo' is not a profile (classic or fast).")]
    [InlineData("--rng-port 70000", "ramcoin: --rng-port / RAMCOIN_RNG_PORT must be a port from 1 to 65535 (it is '70000').")]
    [InlineData("RAMCOIN_WEBUI_PORT=web", "ramcoin: --webui-port / RAMCOIN_WEBUI_PORT must be a port from 1 to 65535 (it is 'web').")]
    [InlineData("miner", "ramcoin: unknown target 'miner' (choose all, or from store, rng, hasher, worker, webui).")]
    [InlineData("RAMCOIN_TARGETS=rng,miner", "ramcoin: unknown target 'miner' (choose all, or from store, rng, hasher, worker, webui).")]
    [InlineData("--rng-port 9999 --hasher-port 9999", "ramcoin: rng and hasher are both set to port 9999.")]
    [InlineData("--bind localhost", "ramcoin: --bind / RAMCOIN_BIND must be an IP address such as 127.0.0.1 or 0.0.0.0 (it is 'localhost').")]
    [InlineData("RAMCOIN_IN_MEMORY=1", "ramcoin: --in-memory / RAMCOIN_IN_MEMORY must be true or false (it is '1').")]
    [InlineData("RAMCOIN_DATA_DIR=", "ramcoin: --data-dir / RAMCOIN_DATA_DIR must name a folder (it is empty; --in-memory keeps nothing on disk).")]
    // The flags win: the bad variables under them are not read, and the one error left is said alone.
    [InlineData("--rng-port 9999 --hasher-port 9999 --profile fast --in-memory RAMCOIN_RNG_PORT=abc RAMCOIN_PROFILE=turbo RAMCOIN_IN_MEMORY=yes", "ramcoin: rng and hasher are both set to port 9999.")]
    public async Task ABadOptionGivesAOneLineErrorAndExitCode2(string given, string message)
    {
        var words = given.Split(' ');
        static bool IsVariable(string word) => !word.StartsWith('-') && word.Contains('=', StringComparison.Ordinal);
        var variables = words.Where(IsVariable).Select(w => w.Split('=', 2)).ToDictionary(v => v[0], v => (string?)v[1]);

        // In this process: nothing starts before the options are checked (ABadServiceSetting... runs the program).
        var run = await LauncherInProcess.RunAsync(words.Where(w => !IsVariable(w)), variables);

        Assert.True(run.ExitCode == 2, run.Describe());
        Assert.Equal(message, run.Error.Trim());
    }

    [Fact]
    public async Task ABadServiceSettingNamesTheVariableAndExitsWith2()
    {
        await using var run = LauncherProcess.Start(["rng", "--rng-port", $"{FreePort.Next()}"], new Dictionary<string, string> { ["RNG_CONCURRENCY"] = "0" });

        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("ramcoin: rng did not start: RNG_CONCURRENCY must be from 1 to 100000 (it is 0).", run.Error.Trim());
    }

    [Theory]
    [InlineData("1.0-ü", "1.0-ü")]
    [InlineData("v1\u0007", "v1\\u0007")]
    public async Task AVersionThatCannotBeAHeaderStopsTheServiceWithExitCode2(string version, string shown)
    {
        // In this process, as ABadServiceSettingNamesTheVariableAndExitsWith2 runs the same path in the program's own.
        var run = await LauncherInProcess.RunAsync(["rng", "--rng-port", $"{FreePort.Next()}"], new Dictionary<string, string?> { ["RAMCOIN_VERSION"] = version });

        Assert.True(run.ExitCode == 2, "rng refuses to start, rather than failing every answer: " + run.Describe());
        Assert.Equal(
            $"ramcoin: rng did not start: RAMCOIN_VERSION must be printable ASCII of at most 128 characters, such as 1.4.2 or v2-rc1 (it is '{shown}').",
            run.Error.Trim());
    }

    [Fact]
    public async Task AnAdminTokenFromASecretFileMatchesWithoutItsNewlineAndWrongTokensAreLogged()
    {
        var port = FreePort.Next();
        // A Kubernetes Secret made from a file (kubectl create secret --from-file) keeps the file's last newline.
        await using var run = LauncherProcess.Start(["rng", "--rng-port", $"{port}", "--profile", "fast"], new Dictionary<string, string> { ["RAMCOIN_ADMIN_TOKEN"] = AdminKnobs.Token + "\n" });
        await run.WaitForOutputAsync("RamCoin is running");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using var wrong = await PutKnobAsync(http, "not-the-teacher-token");
        using var right = await PutKnobAsync(http, AdminKnobs.Token);

        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal("250", (await http.GetFromJsonAsync<JsonElement>("/admin/knobs", Ct)).GetProperty("RNG_DELAY_MS").GetString());
        await Eventually.TrueAsync(() => run.Output.Contains("Knob change from 127.0.0.1 refused: wrong token", StringComparison.Ordinal), "the wrong token is logged");
        Assert.DoesNotContain("not-the-teacher-token", run.Output, StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> PutKnobAsync(HttpClient http, string token)
    {
        using var request = AdminKnobs.Put("{\"RNG_DELAY_MS\": 250}", "Bearer " + token);
        return await http.SendAsync(request, Ct);
    }

    [Fact]
    public async Task AnUnusableDataDirectoryGivesAOneLineError()
    {
        await using var run = LauncherProcess.Start(["store", "--store-port", $"{FreePort.Next()}", "--data-dir", "/proc/ramcoin-cannot-be-here"]);

        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(1, run.ExitCode);
        var error = run.Error.Trim();
        Assert.StartsWith("ramcoin: store did not start: data directory '/proc/ramcoin-cannot-be-here' is not usable", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public async Task ASecondStoreOnTheSameDataDirectoryRefusesToStartAndTheFirstKeepsItsWrites()
    {
        var dataDir = Directory.CreateTempSubdirectory("ramcoin-lock-").FullName;
        try
        {
            var port = FreePort.Next();
            await using var first = LauncherProcess.Start(["store", "--store-port", $"{port}", "--data-dir", dataDir]);
            await first.WaitForOutputAsync("RamCoin is running");

            // In this process: the lock is a flock, which conflicts between two opens in one process as between two.
            var second = await LauncherInProcess.RunAsync(["store", "--store-port", $"{FreePort.Next()}", "--data-dir", dataDir]);

            Assert.True(second.ExitCode == 2, second.Describe());
            Assert.Equal(
                $"ramcoin: store did not start: RAMCOIN_DATA_DIR: the data directory '{dataDir}' is in use by another store ({dataDir}/ramcoin-store.lock is locked); stop that store or choose another folder.",
                second.Error.Trim());
            await using var client = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}");
            Assert.Equal(1, await client.GetDatabase().StringIncrementAsync("lock-test"));
            Assert.False(first.HasExited, "the first store still runs");
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task AloneAServiceHonoursAspNetCoreHttpPorts()
    {
        var port = FreePort.Next();
        await using var run = LauncherProcess.Start(["hasher"], new Dictionary<string, string> { ["ASPNETCORE_HTTP_PORTS"] = $"{port}" });
        await run.WaitForOutputAsync("RamCoin is running");
        using var http = new HttpClient();

        Assert.StartsWith("HASHER running on ", await http.GetStringAsync($"http://127.0.0.1:{port}/", Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogsAreJsonLinesWhenConfiguredAndTheAccessLogNamesEachRequest()
    {
        var port = FreePort.Next();
        await using var run = LauncherProcess.Start(
            ["rng", "--rng-port", $"{port}"],
            new Dictionary<string, string> { ["Logging__Console__FormatterName"] = "json", ["RAMCOIN_ACCESS_LOG"] = "true", ["RNG_DELAY_MS"] = "0" });
        await run.WaitForOutputAsync("RamCoin is running");
        using var http = new HttpClient();
        await http.GetByteArrayAsync($"http://127.0.0.1:{port}/32", Ct);

        await Eventually.TrueAsync(() => run.Output.Contains("RamCoin.AccessLog", StringComparison.Ordinal), "an access-log line");
        var line = run.Output.Split('\n').First(l => l.Contains("RamCoin.AccessLog", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(line);
        Assert.StartsWith("GET /32 200 ", json.RootElement.GetProperty("Message").GetString(), StringComparison.Ordinal);
        Assert.Equal("127.0.0.1", json.RootElement.GetProperty("State").GetProperty("Client").GetString());
    }

    [Fact]
    public void AloneAServiceFindsItsPeersByContainerNamesAndTogetherOnLocalPorts()
    {
        var alone = Launcher.ConfigurationFor(new LauncherSettings { Targets = [ServiceNames.Worker] }, ServiceNames.Worker);
        var together = Launcher.ConfigurationFor(new LauncherSettings(), ServiceNames.Worker);

        // A lone worker is its own peer for the knob controls; everything else is found by container name.
        Assert.Equal(new PeerAddresses("http://rng", "http://hasher", "redis", 6379, "http://127.0.0.1:8003").ToConfiguration(), alone.Defaults);
        Assert.Equal(new PeerAddresses("http://127.0.0.1:8001", "http://127.0.0.1:8002", "127.0.0.1", 6379, "http://127.0.0.1:8003").ToConfiguration(), together.Defaults);
        Assert.Equal(PeerAddresses.Container.ToConfiguration(), Launcher.ConfigurationFor(new LauncherSettings { Targets = [ServiceNames.WebUI] }, ServiceNames.WebUI).Defaults);
        Assert.Equal("http://127.0.0.1:8003", together.Settings["urls"]);
    }

    private static async Task<long> Hashes(HttpClient http, int webui) =>
        (await MiningJson.FirstAsync(http, $"http://127.0.0.1:{webui}/json")).GetProperty("hashes").GetInt64();

    [GeneratedRegex(@"and (http://127\.0\.0\.1:\d+), h2c,")]
    private static partial Regex H2cAddress();

    [GeneratedRegex(@"(\d+) units of work done, updating hash counter")]
    private static partial Regex UnitsOfWork();
}
