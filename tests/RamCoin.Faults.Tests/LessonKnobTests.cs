using Microsoft.Playwright;

namespace RamCoin.Tests;

/// <summary>
/// The Kubernetes lesson knobs, each measured for its real effect on a real process: a service's own binary (what its
/// container runs), or the launcher.
/// </summary>
public sealed class LessonKnobTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const string Token = AdminKnobs.Token;

    [Fact]
    public async Task AServiceBinaryShowsAndChangesItsKnobs()
    {
        // The binaries' JSON has no reflection (as in their Native AOT images): the admin API's answers need metadata.
        await using var hasher = await ServiceBinary.StartAsync("hasher");

        var knobs = await hasher.Client.GetFromJsonAsync<JsonElement>("/admin/knobs", Ct);
        Assert.Equal("0", knobs.GetProperty("RAMCOIN_CPU_BURN_MS").GetString());
        await hasher.PutKnobsAsync(new() { ["HASHER_DELAY_MS"] = 5 }, HttpStatusCode.OK);
        Assert.Equal("5", (await hasher.Client.GetFromJsonAsync<JsonElement>("/admin/knobs", Ct)).GetProperty("HASHER_DELAY_MS").GetString());
    }

    [Fact]
    public async Task EachRequestCostsAboutTheCpuBurnAndProbesCostNone()
    {
        // No tiered JIT, as in the Native AOT image: on the JIT, the recompiling of a young process (seen: 0.5-0.9 s
        // of CPU in its first seconds on a loaded machine) would be counted as the burn's.
        await using var hasher = await ServiceBinary.StartAsync("hasher", new() { ["DOTNET_TieredCompilation"] = "0" });
        await hasher.PostManyAsync(20); // warm up: JIT, connection
        var plain = await hasher.CpuTimeOfAsync(() => hasher.PostManyAsync(20));

        await hasher.PutKnobsAsync(new() { ["RAMCOIN_CPU_BURN_MS"] = 50 }, HttpStatusCode.OK);
        await hasher.PostManyAsync(5); // warm up the burn's own code
        var clock = Stopwatch.StartNew();
        var burnt = await hasher.CpuTimeOfAsync(() => hasher.PostManyAsync(20));
        var elapsed = clock.Elapsed;
        var probes = await hasher.CpuTimeOfAsync(() => hasher.GetManyAsync("/healthz", 20));

        // 20 requests × 50 ms of the request thread's own CPU time, plus what a request costs anyway.
        var extra = burnt - plain;
        Figures.Report($"RAMCOIN_CPU_BURN_MS=50: 20 requests used {burnt.TotalMilliseconds:F0} ms of CPU (without: {plain.TotalMilliseconds:F0} ms), took {elapsed.TotalMilliseconds:F0} ms; 20 probes {probes.TotalMilliseconds:F0} ms");
        Assert.InRange(extra.TotalMilliseconds, 950, 1_300);
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(950), $"20 burning requests took {elapsed.TotalMilliseconds:F0} ms");
        Assert.True(probes < TimeSpan.FromMilliseconds(300), $"20 probes used {probes.TotalMilliseconds:F0} ms of CPU: they do not burn");

        await hasher.PutKnobsAsync(new() { ["RAMCOIN_CPU_BURN_MS"] = 0 }, HttpStatusCode.OK);
        var again = await hasher.CpuTimeOfAsync(() => hasher.PostManyAsync(20));
        Assert.True(again < TimeSpan.FromMilliseconds(500), $"back at 0, 20 requests used {again.TotalMilliseconds:F0} ms of CPU");
    }

    [Fact]
    public async Task WithIgnoreSigtermTheServiceOutlivesSigtermAndOnlySigkillStopsIt()
    {
        await using var hasher = await ServiceBinary.StartAsync("hasher", new() { ["RAMCOIN_IGNORE_SIGTERM"] = "true" });

        hasher.Process.Terminate();
        await Task.Delay(TimeSpan.FromSeconds(3), Ct);
        Assert.False(hasher.Process.HasExited, "the service is still running 3 s after SIGTERM");
        Assert.Equal(HttpStatusCode.OK, (await hasher.Client.GetAsync("/", Ct)).StatusCode);
        await Eventually.TrueAsync(() => hasher.Process.Output.Contains("SIGTERM ignored: RAMCOIN_IGNORE_SIGTERM is true", StringComparison.Ordinal), "the service logs that it ignored SIGTERM");

        var clock = Stopwatch.StartNew();
        hasher.Process.Process.Kill();
        Assert.True(await hasher.Process.WaitForExitAsync(TimeSpan.FromSeconds(5)), "SIGKILL stops it");
        Assert.Equal(137, hasher.Process.ExitCode);
        Figures.Report($"RAMCOIN_IGNORE_SIGTERM: alive and answering 3 s after SIGTERM; SIGKILL stopped it in {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task SigtermStopsTheServiceUnlessTheKnobIsOnAtThatMoment()
    {
        await using var hasher = await ServiceBinary.StartAsync("hasher");

        await hasher.PutKnobsAsync(new() { ["RAMCOIN_IGNORE_SIGTERM"] = true }, HttpStatusCode.OK);
        hasher.Process.Terminate();
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        Assert.Equal(HttpStatusCode.OK, (await hasher.Client.GetAsync("/", Ct)).StatusCode);

        await hasher.PutKnobsAsync(new() { ["RAMCOIN_IGNORE_SIGTERM"] = false }, HttpStatusCode.OK);
        hasher.Process.Terminate();
        Assert.True(await hasher.Process.WaitForExitAsync(TimeSpan.FromSeconds(5)), "with the knob off, SIGTERM stops the service");
        Assert.Equal(0, hasher.Process.ExitCode);
    }

    [Fact]
    public async Task TheLauncherIgnoresSigtermWhileAnyOfItsServicesHasTheKnob()
    {
        var (rngPort, hasherPort) = (FreePort.Next(), FreePort.Next());
        await using var run = LauncherProcess.Start(
            ["rng,hasher", "--rng-port", $"{rngPort}", "--hasher-port", $"{hasherPort}"],
            new Dictionary<string, string> { ["RAMCOIN_ADMIN_TOKEN"] = Token });
        await run.WaitForOutputAsync("RamCoin is running");
        using var rng = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{rngPort}"), Timeout = TimeSpan.FromSeconds(10) };
        using var hasher = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{hasherPort}"), Timeout = TimeSpan.FromSeconds(10) };

        // Set on hasher only: the process is the unit, so rng (same process) outlives SIGTERM too.
        await hasher.ChangeKnobsAsync(new() { ["RAMCOIN_IGNORE_SIGTERM"] = true });
        run.Terminate();
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        Assert.False(run.HasExited, "the launcher is still running 2 s after SIGTERM");
        Assert.Equal(32, (await rng.GetByteArrayAsync("/32", Ct)).Length);
        Assert.Contains("ramcoin: SIGTERM ignored", run.Error, StringComparison.Ordinal);

        await hasher.ChangeKnobsAsync(new() { ["RAMCOIN_IGNORE_SIGTERM"] = false });
        run.Terminate();
        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(6)), "with the knob off, SIGTERM stops the launcher");
        Assert.Equal(0, run.ExitCode);
    }

    [Fact]
    public async Task TheLeakGrowsResidentMemoryAtAboutTheRateAndGivesItBack()
    {
        const int mbPerMinute = 1_200; // 20 MiB/s: a measurable step in a few seconds
        await using var hasher = await ServiceBinary.StartAsync("hasher");
        await hasher.PostManyAsync(20);
        var before = hasher.ResidentBytes();

        await hasher.PutKnobsAsync(new() { ["RAMCOIN_LEAK_MB_PER_MINUTE"] = mbPerMinute }, HttpStatusCode.OK);
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(4), Ct);
        var grown = hasher.ResidentBytes() - before;
        var expected = mbPerMinute / 60.0 * clock.Elapsed.TotalSeconds * (1 << 20);

        Figures.Report($"RAMCOIN_LEAK_MB_PER_MINUTE={mbPerMinute}: RSS grew {grown / 1048576.0:F1} MiB in {clock.Elapsed.TotalSeconds:F1} s (expected about {expected / 1048576.0:F1} MiB)");
        Assert.InRange(grown, expected * 0.75, expected * 1.25);
        Assert.Equal(HttpStatusCode.OK, (await hasher.Client.PostAsync("/", new ByteArrayContent([1]), Ct)).StatusCode);

        await hasher.PutKnobsAsync(new() { ["RAMCOIN_LEAK_MB_PER_MINUTE"] = 0 }, HttpStatusCode.OK);
        await Eventually.TrueAsync(() => hasher.ResidentBytes() < before + (grown / 5), "the leaked memory is given back at 0", 5);
    }

    [Fact]
    public async Task TheCrashKnobStopsTheServiceWithExitCode3AfterThatLongEachTimeItStarts()
    {
        // As a restart policy would: started again after each non-zero exit, it crashes again (CrashLoopBackOff).
        for (var start = 0; start < 2; start++)
        {
            var clock = Stopwatch.StartNew();
            // Answering first: the time counts from the service's start.
            await using var hasher = await ServiceBinary.StartAsync("hasher", new() { ["RAMCOIN_CRASH_AFTER_S"] = "3" });

            Assert.True(await hasher.Process.WaitForExitAsync(TimeSpan.FromSeconds(15)), "it exits by itself");
            Figures.Report($"RAMCOIN_CRASH_AFTER_S=3: start {start + 1} exited with {hasher.Process.ExitCode} {clock.Elapsed.TotalSeconds:F1} s after the process was started");
            Assert.Equal(LessonProcessFaults.CrashExitCode, hasher.Process.ExitCode);
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(3), $"it exited after {clock.Elapsed.TotalSeconds:F1} s");
            Assert.Contains("stopped on purpose by RAMCOIN_CRASH_AFTER_S (exit code 3)", hasher.Process.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TheCrashKnobSetAtRunTimeCountsFromTheChangeAndStopsTheLauncher()
    {
        var hasherPort = FreePort.Next();
        await using var run = LauncherProcess.Start(["hasher", "--hasher-port", $"{hasherPort}"], new Dictionary<string, string> { ["RAMCOIN_ADMIN_TOKEN"] = Token });
        await run.WaitForOutputAsync("RamCoin is running");
        using var hasher = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{hasherPort}"), Timeout = TimeSpan.FromSeconds(10) };

        await hasher.ChangeKnobsAsync(new() { ["RAMCOIN_CRASH_AFTER_S"] = 2 });
        var clock = Stopwatch.StartNew();
        // Another knob's change does not postpone it.
        await hasher.ChangeKnobsAsync(new() { ["RAMCOIN_EXTRA_LATENCY_MS"] = 1 });

        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(10)), "the launcher exits by itself");
        Assert.Equal(LessonProcessFaults.CrashExitCode, run.ExitCode);
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.8, 6);
        Assert.Contains("hasher stopped on purpose (RAMCOIN_CRASH_AFTER_S)", run.Error, StringComparison.Ordinal);
    }

    /// <summary>Bad values of the Kubernetes knobs, each past one end of its range or not of its type, and what they are told.</summary>
    public static TheoryData<string, string, string> BadValues => new()
    {
        { "RAMCOIN_CPU_BURN_MS", "-1", "RAMCOIN_CPU_BURN_MS must be from 0 to 1000 (it is -1)." },
        { "RAMCOIN_CPU_BURN_MS", "1001", "RAMCOIN_CPU_BURN_MS must be from 0 to 1000 (it is 1001)." },
        { "RAMCOIN_CPU_BURN_MS", "lots", "RAMCOIN_CPU_BURN_MS must be a whole number (it is 'lots')." },
        { "RAMCOIN_LEAK_MB_PER_MINUTE", "-5", "RAMCOIN_LEAK_MB_PER_MINUTE must be from 0 to 6000 (it is -5)." },
        { "RAMCOIN_LEAK_MB_PER_MINUTE", "6001", "RAMCOIN_LEAK_MB_PER_MINUTE must be from 0 to 6000 (it is 6001)." },
        { "RAMCOIN_CRASH_AFTER_S", "-1", "RAMCOIN_CRASH_AFTER_S must be from 0 to 86400 (it is -1)." },
        { "RAMCOIN_CRASH_AFTER_S", "86401", "RAMCOIN_CRASH_AFTER_S must be from 0 to 86400 (it is 86401)." },
        { "RAMCOIN_CRASH_AFTER_S", "soon", "RAMCOIN_CRASH_AFTER_S must be a whole number (it is 'soon')." },
        { "RAMCOIN_IGNORE_SIGTERM", "maybe", "RAMCOIN_IGNORE_SIGTERM must be true or false (it is 'maybe')." },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task ABadValueStopsTheServiceAtStartWithExitCode2AndItsName(string name, string value, string message)
    {
        await using var hasher = ServiceBinary.Start("hasher", new() { [name] = value });

        Assert.True(await hasher.Process.WaitForExitAsync(TimeSpan.FromSeconds(20)), "it does not start");
        Assert.Equal(2, hasher.Process.ExitCode);
        Assert.Contains(message, hasher.Process.Error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task ABadValueThroughTheAdminApiIsRefusedWithAProblemAndChangesNothing(string name, string value, string message)
    {
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, new() { ["RAMCOIN_ADMIN_TOKEN"] = Token }, Profile.Fast);

        using var response = await rng.Client.PutKnobsAsync(new() { [name] = value }, HttpStatusCode.BadRequest);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(message, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var knobs = await rng.Client.GetFromJsonAsync<JsonElement>("/admin/knobs", Ct);
        Assert.Equal(name == "RAMCOIN_IGNORE_SIGTERM" ? "False" : "0", knobs.GetProperty(name).GetString());
    }

    [Fact]
    public async Task TheKnobCardShowsTheKubernetesKnobsWithTheirLessons()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast);
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: store.Peers(rng.Address, hasher.Address));
        var page = await browser.OpenAsync(webui);

        var hasherKnobs = page.Locator("fieldset[data-service=hasher]");
        await Assertions.Expect(hasherKnobs.Locator("input[name=RAMCOIN_CPU_BURN_MS]")).ToHaveValueAsync("0");
        foreach (var (knob, lesson) in new[]
        {
            ("RAMCOIN_CPU_BURN_MS", "HPA on CPU"),
            ("RAMCOIN_IGNORE_SIGTERM", "terminationGracePeriodSeconds"),
            ("RAMCOIN_LEAK_MB_PER_MINUTE", "OOMKilled"),
            ("RAMCOIN_CRASH_AFTER_S", "CrashLoopBackOff"),
        })
        {
            await Assertions.Expect(hasherKnobs.Locator($"[data-knob={knob}] .lesson")).ToContainTextAsync(lesson);
        }

        await page.CloseAsync();
    }

    /// <summary>A service's own program (what its container image runs) in a child process, on a loopback port.</summary>
    internal sealed class ServiceBinary : IAsyncDisposable
    {
        private ServiceBinary(LauncherProcess process, int port)
        {
            Process = process;
            Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        }

        public LauncherProcess Process { get; }

        public HttpClient Client { get; }

        public static ServiceBinary Start(string service, Dictionary<string, string>? settings = null)
        {
            var port = FreePort.Next();
            var environment = new Dictionary<string, string>(settings ?? [])
            {
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
                ["RAMCOIN_PROFILE"] = "fast",
                ["RAMCOIN_ADMIN_TOKEN"] = Token,
            };
            var name = service == ServiceNames.WebUI ? "RamCoin.WebUI" : "RamCoin." + char.ToUpperInvariant(service[0]) + service[1..];
            return new ServiceBinary(LauncherProcess.StartProgram(Path.Combine(AppContext.BaseDirectory, name), [], environment, service), port);
        }

        public static async Task<ServiceBinary> StartAsync(string service, Dictionary<string, string>? settings = null)
        {
            var binary = Start(service, settings);
            await Eventually.TrueAsync(
                async () =>
                {
                    Assert.False(binary.Process.HasExited, $"{service} exited with {(binary.Process.HasExited ? binary.Process.ExitCode : 0)}: {binary.Process.Error}");
                    try
                    {
                        return (await binary.Client.GetAsync("/healthz", Ct)).IsSuccessStatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                $"{service} answers /healthz");
            return binary;
        }

        public async Task PutKnobsAsync(Dictionary<string, object> knobs, HttpStatusCode expected)
        {
            using var response = await Client.PutKnobsAsync(knobs, expected);
        }

        public async Task PostManyAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                using var response = await Client.PostAsync("/", new ByteArrayContent([1, 2, 3]), Ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        public async Task GetManyAsync(string path, int count)
        {
            for (var i = 0; i < count; i++)
            {
                using var response = await Client.GetAsync(path, Ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        /// <summary>The process's CPU time (user and system, all threads) spent while <paramref name="work"/> ran.</summary>
        public async Task<TimeSpan> CpuTimeOfAsync(Func<Task> work)
        {
            Process.Process.Refresh();
            var before = Process.Process.TotalProcessorTime;
            await work();
            Process.Process.Refresh();
            return Process.Process.TotalProcessorTime - before;
        }

        /// <summary>VmRSS from /proc: the resident memory the kernel counts against a container's limit.</summary>
        public long ResidentBytes()
        {
            var line = File.ReadLines($"/proc/{Process.Process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return long.Parse(line["VmRSS:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture) * 1024;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Process.DisposeAsync();
        }
    }
}
