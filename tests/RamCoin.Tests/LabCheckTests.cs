namespace RamCoin.Tests;

/// <summary>
/// What <c>ramcoin check</c> says to bad usage and to a web UI it cannot read (its checks against real runs, which
/// wait out outages and stalls, are in RamCoin.Faults.Tests: LabCheckRunTests).
/// </summary>
public sealed class LabCheckTests
{
    [Theory]
    [InlineData(new string[] { "check" }, "ramcoin check: name a lesson: rollout, healthchecks, scaling, daemonset.")]
    [InlineData(new string[] { "check", "scaleing" }, "ramcoin check: 'scaleing' is not a lesson: rollout, healthchecks, scaling, daemonset.")]
    [InlineData(new string[] { "check", "scaling", "--window", "5h" }, "ramcoin check: --window: '5h' is not a duration (such as 300, 90s or 5m, at most 60m).")]
    [InlineData(new string[] { "check", "scaling", "--webui", "ftp://x/" }, "ramcoin check: --webui: 'ftp://x/' is not an http:// or https:// address.")]
    public async Task BadUsageExitsTwoWithOneLine(string[] args, string message)
    {
        var (exit, output) = await RamCoinCheck.RunAsync(args);

        Assert.Equal(2, exit);
        Assert.Equal(message, output.Trim());
    }

    [Fact]
    public async Task AnUnreachableWebUIOrAMistypedOptionExitsTwoFromTheProgram()
    {
        var port = FreePort.Next();

        var unreachable = await Repo.RunAsync(Dotnet, [Launcher, "check", "scaling", "--webui", $"http://127.0.0.1:{port}/"], timeoutSeconds: 60);
        var mistyped = await Repo.RunAsync(Dotnet, [Launcher, "check", "scaling", "--webiu", "x"], timeoutSeconds: 60);

        Assert.True(unreachable.ExitCode == 2, unreachable.Describe());
        Assert.StartsWith($"ramcoin check: the web UI at http://127.0.0.1:{port}/ cannot be read: ", unreachable.Error, StringComparison.Ordinal);
        Assert.True(mistyped.ExitCode == 2, mistyped.Describe());
        Assert.Contains("--webiu", mistyped.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWebUIThatIsNotOneExitsTwoAndSaysWhatItAnswered()
    {
        // rng answers 400 for dashboard.json (not a count): a wrong port.
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast);

        var (exit, output) = await RamCoinCheck.RunAsync("rollout", rng);

        Assert.Equal(2, exit);
        Assert.Equal($"ramcoin check: the web UI at {rng.Address} cannot be read: dashboard.json answered 400", output.Trim());
    }

    private static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    private static string Launcher => Path.Combine(AppContext.BaseDirectory, "ramcoin.dll");

    // The judgement itself, on evidence as the web UI gives it (LabEvidence.Parse), without services: milliseconds.
    private const double T0 = 1_800_000_000;

    private static LabEvidence Evidence(
        IEnumerable<long?> hashes, string? ceiling = null, string rng = "[{\"instance\":\"rng-a\"}]", string events = "[]", IEnumerable<double?>? ceilings = null)
    {
        var h = hashes.ToList();
        var c = (ceilings ?? h.Select(_ => (double?)null)).ToList();
        static string List<T>(IEnumerable<T> values) => "[" + string.Join(",", values.Select(v => v is null ? "null" : Convert.ToString(v, CultureInfo.InvariantCulture))) + "]";
        var now = T0 + h.Count - 1;
        return LabEvidence.Parse(
            $$"""{"now":{{now.ToString(CultureInfo.InvariantCulture)}},"rng":{"instances":{{rng}}},"ceiling":{{ceiling ?? "null"}}}""",
            $$"""{"events":{{events}},"t":{{List(h.Select((_, i) => T0 + i))}},"hashes":{{List(h)}},"rate":{{List(h.Select(_ => 0))}},"ceiling":{{List(c)}}}""");
    }

    [Fact]
    public void AStallIsTheTimeTheSamplesShowedNoRiseAndAnOutagesSamplesAreSkipped()
    {
        // Rises each second, one flat sample (jitter), then flat for four samples from t=6; an outage (null) at 12-14.
        long?[] hashes = [0, 10, 20, 20, 30, 40, 50, 50, 50, 50, 50, 60, null, null, null, 90, 100];

        var stall = LabChecks.LongestStall(Evidence(hashes), T0);

        Assert.Equal((4.0, T0 + 6), stall);
        Assert.Null(LabChecks.LongestStall(Evidence([5, 5, 5, 5]), T0));
        Assert.Equal((0.0, T0 + 3), LabChecks.LongestStall(Evidence([0, 1, 2, 3]), T0));
    }

    [Fact]
    public void ScalingPassesWithinTenPercentOfTheCeilingAndNamesWhatSetsIt()
    {
        const string ceiling = """{"hashesPerSecond":10,"limitedBy":"rng","explanation":"1 rng × 1 request at a time ÷ 100 ms"}""";
        var steady = Enumerable.Range(0, 20).Select(i => (long?)(i * 98L / 10)).ToList();

        var pass = LabChecks.Run("scaling", Evidence(steady, ceiling), 300);
        var short_ = LabChecks.Run("scaling", Evidence(steady.Take(5), ceiling), 300);
        var outage = LabChecks.Run("scaling", Evidence([.. steady.Take(15), null, .. steady.Skip(16)], ceiling), 300);
        var slow = LabChecks.Run("scaling", Evidence(Enumerable.Range(0, 20).Select(i => (long?)(i * 5L)), ceiling), 300);
        var none = LabChecks.Run("scaling", Evidence(steady), 300);

        Assert.All(pass, c => Assert.True(c.Passed, c.Measured));
        Assert.Equal("measured 9.8, expected 10.0 hashes/s (−2 %)", pass[2].Measured);
        Assert.Equal("rng: 1 rng × 1 request at a time ÷ 100 ms", pass[3].Measured);
        Assert.Equal((false, "only 4 s of samples: the web UI started just now"), (short_[1].Passed, short_[1].Measured));
        Assert.Equal((false, "the store did not answer in 1 of the last 11 samples"), (outage[1].Passed, outage[1].Measured));
        Assert.Equal((false, "measured 5.0, expected 10.0 hashes/s (−50 %)"), (slow[2].Passed, slow[2].Measured));
        Assert.StartsWith("Under the ceiling", slow[2].Hint, StringComparison.Ordinal);
        Assert.All(none, c => Assert.False(c.Passed && c.Expectation != "the rate was measured for 10 s without a store outage", c.Expectation));
    }

    [Fact]
    public void DaemonSetNeedsMoreThanOneRngAndACeilingThatRoseAsTheyAppeared()
    {
        const string ceiling = """{"hashesPerSecond":20,"limitedBy":"rng","explanation":"2 rng × 1 request at a time ÷ 100 ms"}""";
        const string two = """[{"instance":"rng-a"},{"instance":"rng-b"}]""";
        var appeared = $$"""[{"at":{{(T0 + 5).ToString(CultureInfo.InvariantCulture)}},"kind":"appeared","service":"rng","instance":"rng-b","text":"rng rng-b answers the workers"}]""";
        long?[] hashes = [.. Enumerable.Range(0, 10).Select(i => (long?)i)];
        double?[] rising = [10, 10, 10, 10, 10, 20, 20, 20, 20, 20];

        var pass = LabChecks.Run("daemonset", Evidence(hashes, ceiling, two, appeared, rising), 300);
        var one = LabChecks.Run("daemonset", Evidence(hashes, ceiling, ceilings: rising), 300);
        var flat = LabChecks.Run("daemonset", Evidence(hashes, ceiling, two, appeared, [.. hashes.Select(_ => (double?)20)]), 300);
        var knob = LabChecks.Run("daemonset", Evidence(hashes, ceiling, two, ceilings: rising), 300);

        Assert.All(pass, c => Assert.True(c.Passed, c.Measured));
        Assert.Equal("2 answer: rng-a, rng-b", pass[0].Measured);
        Assert.Equal("10.0 → 20.0 hashes/s as 1 rng instance appeared (rng: 2 rng × 1 request at a time ÷ 100 ms)", pass[1].Measured);
        Assert.Equal((false, "1 answers: rng-a"), (one[0].Passed, one[0].Measured));
        Assert.False(flat[1].Passed);
        Assert.StartsWith("it stayed at about 20.0 hashes/s", flat[1].Measured, StringComparison.Ordinal);
        Assert.Equal((false, "it rose from 10.0 to 20.0 hashes/s, but no rng instance appeared in the last 300 s"), (knob[1].Passed, knob[1].Measured));
    }

    [Theory]
    [InlineData("""{"now":1}""", "{}", "dashboard.json has no 'rng'")]
    [InlineData("""{"now":"x","rng":{"instances":[]}}""", "{}", "dashboard.json: 'now' is not a number")]
    [InlineData("""{"now":1,"rng":{"instances":[]}}""", """{"events":[],"t":[1,2],"hashes":[1]}""", "timeline.json: its series differ in length")]
    [InlineData("<html>", "{}", "dashboard.json is not JSON")]
    [InlineData("""{"now":1,"rng":{"instances":[1]}}""", """{"events":[],"t":[],"hashes":[]}""", "dashboard.json: an rng instance is not an object")]
    public void EvidenceThatIsNotAWebUIsSaysWhatIsMissing(string dashboard, string timeline, string message)
    {
        var error = Assert.Throws<FormatException>(() => LabEvidence.Parse(dashboard, timeline));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ScalingWithNoSampleInTheLastTenSecondsFailsThatCheckInsteadOfCrashing()
    {
        // Samples from T0 to T0 + 20, and the web UI's clock at T0 + 100: its sampler stopped.
        var times = string.Join(",", Enumerable.Range(0, 21).Select(i => (T0 + i).ToString(CultureInfo.InvariantCulture)));
        var hashes = string.Join(",", Enumerable.Range(0, 21).Select(i => i * 10));
        var evidence = LabEvidence.Parse(
            $$"""{"now":{{(T0 + 100).ToString(CultureInfo.InvariantCulture)}},"rng":{"instances":[{"instance":"rng-a"}]},"ceiling":null}""",
            $$"""{"events":[],"t":[{{times}}],"hashes":[{{hashes}}]}""");

        var checks = LabChecks.Run("scaling", evidence, 300);

        var measured = Assert.Single(checks, c => c.Expectation.StartsWith("the rate was measured", StringComparison.Ordinal));
        Assert.False(measured.Passed);
        Assert.StartsWith("0 samples in the last 10 s", measured.Measured, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAnswerOverTheCapIsNotReadWholeAndExitsTwoWithOneLine()
    {
        // A raw server, so that what it sent is what the check's socket took: Kestrel would drop writes to a closed
        // connection without an error.
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serving = Task.Run(async () =>
        {
            using var connection = await listener.AcceptSocketAsync(Ct);
            await connection.ReceiveAsync(new byte[4096], System.Net.Sockets.SocketFlags.None, Ct);
            // 200 MiB of a JSON string, without a length: the client learns its size only by reading it.
            await connection.SendAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"now\":\""u8.ToArray(), System.Net.Sockets.SocketFlags.None, Ct);
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)'a');
            long sent = 0;
            try
            {
                while (sent < 200L * 1024 * 1024)
                {
                    sent += await connection.SendAsync(chunk, System.Net.Sockets.SocketFlags.None, Ct);
                }
            }
            catch (System.Net.Sockets.SocketException)
            {
                // The check closed the connection.
            }

            return sent;
        }, Ct);
        var (exit, output) = await RamCoinCheck.RunAsync(["check", "scaling", "--webui", $"http://127.0.0.1:{port}/"]);

        Assert.Equal(2, exit);
        var line = Assert.Single(output.Trim().Split('\n'));
        Assert.StartsWith("ramcoin check: the web UI at ", line, StringComparison.Ordinal);
        // The cap (16 MiB) and what the two sockets' kernel buffers hold: far from the 200 MiB offered.
        var sent = await serving.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.True(sent < 64L * 1024 * 1024, $"{sent / 1024 / 1024} MiB were sent before the check stopped reading");
    }
}
