using System.Security.Cryptography;
using RamCoin.Tests.Engine;

namespace RamCoin.Tests.Containers;

/// <summary>
/// What runs inside the images: each service's Native AOT binary, started as a process on a loopback port
/// (ASPNETCORE_HTTP_PORTS, as the image sets it to 80), answering the contract, stopping on SIGTERM.
/// </summary>
[Collection(nameof(RealEngine))]
public sealed class NativeAotTests(NativeBinaries binaries) : IClassFixture<NativeBinaries>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task RngAndHasherBinariesAnswerTheContract()
    {
        await using var rng = await StartAsync(ServiceNames.Rng);
        await using var hasher = await StartAsync(ServiceNames.Hasher);

        using var bytes = await Http.GetAsync(rng.Url + "32", Ct);
        Assert.Equal(HttpStatusCode.OK, bytes.StatusCode);
        Assert.Equal("application/octet-stream", bytes.Content.Headers.ContentType?.MediaType);
        var random = await bytes.Content.ReadAsByteArrayAsync(Ct);
        Assert.Equal(32, random.Length);
        Assert.Equal($"RNG running on {Environment.MachineName}\n", await Http.GetStringAsync(rng.Url, Ct));

        using var content = new ByteArrayContent(random);
        content.Headers.ContentType = new("application/octet-stream");
        using var hashed = await Http.PostAsync(hasher.Url, content, Ct);
        Assert.Equal(HttpStatusCode.OK, hashed.StatusCode);
        Assert.Equal("text/plain", hashed.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(random)), await hashed.Content.ReadAsStringAsync(Ct));

        // Bad input gets its problem details from the AOT binary too (source-generated JSON).
        using var bad = await Http.GetAsync(rng.Url + "abc", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await bad.Content.ReadAsStringAsync(Ct));
        Assert.Equal(400, problem.RootElement.GetProperty("status").GetInt32());

        await rng.StopAsync();
        await hasher.StopAsync();
    }

    [Fact]
    public async Task WorkerAndWebUIBinariesMineIntoARealStoreAndTheWorkerFlushesOnSigterm()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        // rng and hasher also listen for HTTP/2 without TLS on a second port each, and the worker calls them there (the
        // fast profile's wiring; those ports speak only HTTP/2); the web UI calls their HTTP/1.1 ports.
        var (rngH2c, hasherH2c) = (FreePort.Next(), FreePort.Next());
        await using var rng = await StartAsync(ServiceNames.Rng, new Dictionary<string, string>(Fast) { [H2cListener.PortSetting] = $"{rngH2c}" });
        await using var hasher = await StartAsync(ServiceNames.Hasher, new Dictionary<string, string>(Fast) { [H2cListener.PortSetting] = $"{hasherH2c}" });
        var peers = new Dictionary<string, string>(Fast)
        {
            ["RNG_URL"] = rng.Url,
            ["HASHER_URL"] = hasher.Url,
            ["REDIS_HOST"] = "127.0.0.1",
            ["REDIS_PORT"] = store.Port.ToString(CultureInfo.InvariantCulture),
        };
        // DockerCoins' difficulty, so that coins appear within the test (the fast profile's own is 0000).
        await using var worker = await StartAsync(ServiceNames.Worker, new Dictionary<string, string>(peers)
        {
            ["RNG_URL"] = $"http://127.0.0.1:{rngH2c}",
            ["HASHER_URL"] = $"http://127.0.0.1:{hasherH2c}",
            ["WORKER_H2C"] = "true",
            ["DIFFICULTY"] = "0",
        });
        await using var webui = await StartAsync(ServiceNames.WebUI, new Dictionary<string, string>(peers) { ["WORKER_URL"] = "http://127.0.0.1:" + worker.Port });

        await Eventually.TrueAsync(
            async () =>
            {
                // 503 until the web UI's store client has connected once.
                using var json = await Http.GetAsync(webui.Url + "json", Ct);
                return json.IsSuccessStatusCode
                    && (await json.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("hashes").GetInt64() > 100;
            },
            "the web UI's /json shows the worker's hashes");
        // The page's files sit beside the binary, where the image puts them.
        using var page = await Http.GetAsync(webui.Url, Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(binaries.Binary(ServiceNames.WebUI))!, "webui", "index.html")));

        var before = await Http.GetFromJsonAsync<JsonElement>(worker.Url + "status", Ct);
        Assert.Equal(0, before.GetProperty("errors").GetInt64());
        // Both ports are rng's own configuration: no warning that one overrides the other.
        Assert.Contains($"Now listening on: http://[::]:{rngH2c}", rng.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("warn:", rng.Output, StringComparison.Ordinal);
        await worker.StopAsync();

        // Everything computed before SIGTERM is in the store once the worker has exited.
        var db = await store.DatabaseAsync();
        var counted = (long)await db.StringGetAsync(StoreKeys.Hashes);
        Assert.True(
            counted >= before.GetProperty("hashesComputed").GetInt64(),
            $"store has {counted} hashes after the worker stopped; it had computed {before.GetProperty("hashesComputed")} before SIGTERM");
        Assert.True(await db.HashLengthAsync(StoreKeys.Wallet) > 0, "coins were found and kept");
        await webui.StopAsync();
    }

    [Fact]
    public async Task HealthCheckModeExitsZeroWhenHealthyOneWhenNothingAnswersTwoForABadUrl()
    {
        await using var rng = await StartAsync(ServiceNames.Rng);
        var binary = binaries.Binary(ServiceNames.Rng);

        var healthy = await Repo.RunAsync(binary, ["healthcheck"], new Dictionary<string, string?> { ["ASPNETCORE_HTTP_PORTS"] = rng.Port.ToString(CultureInfo.InvariantCulture) });
        var down = await Repo.RunAsync(binary, ["healthcheck"], new Dictionary<string, string?> { ["ASPNETCORE_HTTP_PORTS"] = FreePort.Next().ToString(CultureInfo.InvariantCulture) });
        var bad = await Repo.RunAsync(binary, ["healthcheck", "ftp://nowhere"]);

        Assert.True(healthy.ExitCode == 0, healthy.Describe());
        Assert.Contains("answered 200", healthy.Output, StringComparison.Ordinal);
        Assert.True(down.ExitCode == 1, down.Describe());
        Assert.Contains("did not answer", down.Error, StringComparison.Ordinal);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("is not an http:// URL", bad.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RNG_CONCURRENCY", "0", "rng: did not start: RNG_CONCURRENCY must be from 1")]
    [InlineData("RAMCOIN_H2C_PORT", "http", "rng: did not start: RAMCOIN_H2C_PORT must be a port from 1 to 65535 (it is 'http').")]
    [InlineData("RAMCOIN_INLINE_SCHEDULING", "yes", "rng: did not start: RAMCOIN_INLINE_SCHEDULING must be true or false (it is 'yes').")]
    public async Task ABadSettingStopsTheBinaryWithTheVariablesName(string variable, string value, string message)
    {
        var result = await Repo.RunAsync(
            binaries.Binary(ServiceNames.Rng),
            [],
            new Dictionary<string, string?> { ["ASPNETCORE_HTTP_PORTS"] = FreePort.Next().ToString(CultureInfo.InvariantCulture), [variable] = value },
            timeoutSeconds: 20);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachBinaryStartsQuicklyAndStaysSmall()
    {
        foreach (var service in ServiceProjects.ByService.Keys)
        {
            var started = Stopwatch.StartNew();
            await using var running = await StartAsync(service);
            var firstOk = started.Elapsed;
            await Task.Delay(1000, Ct);
            var rss = running.RssKiB();
            var size = new FileInfo(binaries.Binary(service)).Length;
            Figures.Report(string.Create(
                CultureInfo.InvariantCulture,
                $"AOT {service}: binary {size / 1048576.0:F1} MiB, start to first 200 {firstOk.TotalMilliseconds:F0} ms, RSS after 1 s idle {rss / 1024.0:F1} MiB"));
            var (maxSizeMiB, maxRssMiB) = Ceilings[service];
            var (sizeMiB, rssMiB) = (size / 1048576.0, rss / 1024.0);
            Assert.True(sizeMiB >= 8 && sizeMiB <= maxSizeMiB, $"{service}'s binary is {sizeMiB:F1} MiB: 8 to {maxSizeMiB} expected");
            Assert.True(rssMiB >= 8 && rssMiB <= maxRssMiB, $"{service} idles at {rssMiB:F1} MiB RSS: 8 to {maxRssMiB} expected");
            await running.StopAsync();
        }
    }

    /// <summary>The OpenAPI documents are made at run time from endpoint metadata: trimming must leave them whole.</summary>
    [Fact]
    public async Task EachBinaryServesTheReadmesOpenApiDocument()
    {
        foreach (var service in ServiceProjects.ByService.Keys)
        {
            await using var running = await StartAsync(service);

            using var response = await Http.GetAsync(running.Url + OpenApiDocuments.Path.TrimStart('/'), Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{service}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            ReadmeApiContract.AssertMatchesTheReadme(service, document.RootElement);
            // Its knobs' type is the schema in the document: serialized from source-generated metadata, or a 500.
            using var knobs = await Http.GetAsync(running.Url + "admin/knobs", Ct);
            Assert.True(knobs.StatusCode == HttpStatusCode.OK, $"{service} GET /admin/knobs: {(int)knobs.StatusCode}");
            await running.StopAsync();
        }
    }

    /// <summary>
    /// Binary size and idle RSS ceilings in MiB, about 1.5 times the README's figures (binaries 14.4-18.2 MiB, RSS
    /// 29-43 MiB): a 2x growth breaks them, and so does a JIT build (an apphost of 70 KB is under the 8 MiB floor; a
    /// self-contained one is about 70 MB on disk, and the JIT build idled at 74 MB where Native AOT took 20-40).
    /// </summary>
    private static readonly Dictionary<string, (double SizeMiB, double RssMiB)> Ceilings = new()
    {
        [ServiceNames.Rng] = (22, 45),
        [ServiceNames.Hasher] = (22, 45),
        [ServiceNames.Worker] = (28, 64),
        [ServiceNames.WebUI] = (26, 53),
    };

    private static readonly IReadOnlyDictionary<string, string> Fast = new Dictionary<string, string> { ["RAMCOIN_PROFILE"] = "fast" };

    private async Task<Binary> StartAsync(string service, IReadOnlyDictionary<string, string>? environment = null)
    {
        var port = FreePort.Next();
        var env = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
        {
            ["ASPNETCORE_HTTP_PORTS"] = port.ToString(CultureInfo.InvariantCulture),
        };
        var process = LauncherProcess.StartProgram(binaries.Binary(service), [], env, service);
        var running = new Binary(process, port);
        // Polled every 5 ms (not Eventually's 100 ms), so that the start time is measured, not rounded up.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(process.HasExited, $"{service} exited with {(process.HasExited ? process.ExitCode : 0)}: {process.Error}");
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), $"{service} answers /healthz within 20 s: {process.Error}");
            try
            {
                using var response = await Http.GetAsync(running.Url + "healthz", Ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(5, Ct);
        }

        return running;
    }

    private sealed class Binary(LauncherProcess process, int port) : IAsyncDisposable
    {
        public int Port => port;

        public string Url => $"http://127.0.0.1:{port}/";

        public string Output => process.Output;

        public long RssKiB()
        {
            var line = File.ReadLines($"/proc/{process.Process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }

        /// <summary>SIGTERM, as docker stop and Kubernetes send it: the binary exits by itself with 0, within 5 s.</summary>
        public async Task StopAsync()
        {
            process.Terminate();
            Assert.True(await process.WaitForExitAsync(TimeSpan.FromSeconds(5)), "exits within 5 s of SIGTERM");
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}: {process.Error}");
        }

        public ValueTask DisposeAsync() => process.DisposeAsync();
    }
}
