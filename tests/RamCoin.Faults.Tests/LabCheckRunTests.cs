using System.Text.RegularExpressions;

namespace RamCoin.Tests;

/// <summary>
/// <c>ramcoin check</c> against real runs: real services, a real store, the web UI's API only; each lesson passes and
/// fails for the reason it should (a worker rolled out with and without a pause, an rng that goes and comes back, a run
/// too short to measure and one at the ceiling, one rng and two). Alone: the checks judge timings (a 2 s stall, 10 % of a
/// ceiling), and another test's load is not what they should measure.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class LabCheckRunTests
{
    private static Dictionary<string, string?> Worker(string id, string version) => new()
    {
        ["WORKER_ID"] = id,
        ["RAMCOIN_VERSION"] = version,
        ["WORKER_FLUSH_MS"] = "200",
        ["WORKER_DELAY_MS"] = "5",
    };

    [Fact]
    public async Task RolloutPassesWhenANewVersionMinesBeforeTheOldStopsAndFailsWhenTheCounterStoodStill()
    {
        // Each worker "pod" is a process of its own (ramcoin worker): a new one's start does not pause the others.
        await using var rig = await MiningRig.StartAsync();
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: rig.Store.Peers());
        var old = await StartWorkerPodAsync(rig, "worker-old", "1.0.0");
        await Eventually.TrueAsync(async () => (await ReadAsync(webui, "dashboard.json")).Contains("1.0.0", StringComparison.Ordinal), "the web UI sees the worker");

        var before = await RamCoinCheck.RunAsync("rollout", webui);
        Assert.Equal(1, before.ExitCode);
        Assert.Contains("✗ a version change happened in the window: no version change in the last 300 s", before.Output, StringComparison.Ordinal);

        // maxSurge 1, maxUnavailable 0: the new pod mines before the old one goes (SIGTERM: it flushes and stops).
        var rollout = DateTime.UtcNow;
        await using var surge = await StartWorkerPodAsync(rig, "worker-new", "2.0.0");
        await Eventually.TrueAsync(async () => (await ReadAsync(webui, "timeline.json")).Contains("\"version\"", StringComparison.Ordinal), "the timeline has the version change");
        old.Terminate();
        Assert.True(await old.WaitForExitAsync(TimeSpan.FromSeconds(10)), "the old worker stops on SIGTERM");
        await old.DisposeAsync();
        await Task.Delay(2500, Ct);

        var good = await RamCoinCheck.RunAsync("rollout", webui, "--window", Since(rollout));
        Assert.True(good.ExitCode == 0, good.Output);
        Assert.Contains("✓ a version change happened in the window: worker version 1.0.0 → 1.0.0, 2.0.0", good.Output, StringComparison.Ordinal);
        Assert.Contains("✓ the hash count never stalled for more than 2 s", good.Output, StringComparison.Ordinal);
        Assert.Contains("rollout: all 2 checks pass.", good.Output, StringComparison.Ordinal);

        // A Recreate rollout: the running worker stops, its successor comes 4 s later.
        surge.Terminate();
        Assert.True(await surge.WaitForExitAsync(TimeSpan.FromSeconds(10)), "the worker stops on SIGTERM");
        await Task.Delay(4000, Ct);
        await using var recreated = await StartWorkerPodAsync(rig, "worker-new", "3.0.0");
        await Task.Delay(2000, Ct);

        var bad = await RamCoinCheck.RunAsync("rollout", webui, "--window", Since(rollout));
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("✓ a version change happened in the window", bad.Output, StringComparison.Ordinal);
        Assert.True(Regex.IsMatch(bad.Output, @"✗ the hash count never stalled for more than 2 s: it stood still for [3-9] s, from \d+ s ago"), bad.Output);
        Assert.Contains("hint: The old workers stopped before new ones mined", bad.Output, StringComparison.Ordinal);
    }

    /// <summary><c>ramcoin worker</c> in the fast profile against the rig, as a pod is: its own process, its name and version.</summary>
    private static async Task<LauncherProcess> StartWorkerPodAsync(MiningRig rig, string id, string version)
    {
        var environment = new Dictionary<string, string>
        {
            ["RNG_URL"] = rig.Peers.Rng.Address.ToString(),
            ["HASHER_URL"] = rig.Peers.Hasher.Address.ToString(),
            ["REDIS_HOST"] = $"127.0.0.1:{rig.Store.Port}",
        };
        foreach (var (name, value) in Worker(id, version))
        {
            environment[name] = value!;
        }

        var worker = LauncherProcess.Start(["worker", "--profile", "fast", "--worker-port", FreePort.Next().ToString(System.Globalization.CultureInfo.InvariantCulture)], environment);
        await worker.WaitForOutputAsync("RamCoin is running");
        return worker;
    }

    [Fact]
    public async Task HealthchecksPassOnceAnRngThatWentAwayAnswersAgain()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        var port = FreePort.Next();
        var rng = await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast, port: port);
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker, Worker("worker-1", "1.0.0"), Profile.Fast, store.Peers(rng.Address, hasher.Address));
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: store.Peers());
        try
        {
            await Eventually.TrueAsync(async () => (await ReadAsync(webui, "dashboard.json")).Contains("\"calls\"", StringComparison.Ordinal), "the web UI sees rng");
            var nothing = await RamCoinCheck.RunAsync("healthchecks", webui);
            Assert.Equal(1, nothing.ExitCode);
            Assert.Contains("✗ an instance went unready (the workers stopped reaching it): no instance went away in the last 300 s", nothing.Output, StringComparison.Ordinal);
            Assert.Contains("hint: Make one pod unready: RAMCOIN_FORCE_UNREADY=true", nothing.Output, StringComparison.Ordinal);

            // Out of the workers' reach (as a pod out of its Service): the workers' calls fail.
            await rng.DisposeAsync();
            await Eventually.TrueAsync(async () => (await ReadAsync(webui, "timeline.json")).Contains("\"gone\"", StringComparison.Ordinal), "the timeline has rng gone");
            var away = await RamCoinCheck.RunAsync("healthchecks", webui);
            Assert.Equal(1, away.ExitCode);
            // hasher too: a worker that gets no bytes from rng calls hasher no more.
            Assert.True(Regex.IsMatch(away.Output, @"✓ an instance went unready \(the workers stopped reaching it\): (rng|hasher) \S+ no longer answers any worker, \d+ s ago"), away.Output);
            Assert.True(Regex.IsMatch(away.Output, @"✗ and it came back: (rng|hasher) \S+ no longer answers any worker \d+ s ago and has not come back"), away.Output);

            rng = await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast, port: port);
            await Eventually.TrueAsync(async () => (await RamCoinCheck.RunAsync("healthchecks", webui)).ExitCode == 0, "the check passes");
            var back = await RamCoinCheck.RunAsync("healthchecks", webui);
            Assert.True(Regex.IsMatch(back.Output, @"✓ and it came back: (rng|hasher) \S+ answers the workers, \d+ s after it went"), back.Output);
            Assert.Contains("healthchecks: all 2 checks pass.", back.Output, StringComparison.Ordinal);
        }
        finally
        {
            await rng.DisposeAsync();
        }
    }

    [Fact]
    public async Task ScalingFailsForARunTooShortToMeasureAndPassesAtTheCeilingOfTenWorkersOnOneRng()
    {
        // DockerCoins' classic timings: ten loops of 300 ms could do 33 hashes/s; one rng serving one request at a
        // time for 100 ms holds them to 10.
        await using var rig = await ClassicRig.StartAsync();
        var webui = rig.WebUI;
        await using var workers = await rig.StartWorkerAsync("ten-loops", loops: 10);
        await Eventually.TrueAsync(async () => (await ReadAsync(webui, "dashboard.json")).Contains("ten-loops", StringComparison.Ordinal), "the web UI sees the worker");
        SkipUnlessTheDashboardHasACeiling(await ReadAsync(webui, "dashboard.json"));

        var early = await RamCoinCheck.RunAsync("scaling", webui);
        Assert.Equal(1, early.ExitCode);
        Assert.True(Regex.IsMatch(early.Output, @"✗ the rate was measured for 10 s without a store outage: only \d+ s of samples: the web UI started just now"), early.Output);

        await Eventually.TrueAsync(async () => (await RamCoinCheck.RunAsync("scaling", webui)).ExitCode == 0, "the scaling check passes", 25);
        var steady = await RamCoinCheck.RunAsync("scaling", webui);
        Assert.Contains("✓ the deployment has an expected ceiling: 10.0 hashes/s", steady.Output, StringComparison.Ordinal);
        Assert.True(Regex.IsMatch(steady.Output, @"✓ the measured rate is within 10 % of the expected ceiling: measured (9\.\d|10\.\d), expected 10\.0 hashes/s"), steady.Output);
        Assert.Contains("✓ the bottleneck is named: rng: 1 rng × 1 request at a time", steady.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DaemonSetFailsWithOneRngAndPassesOnceASecondOneJoinsTheServiceAndLiftsTheCeiling()
    {
        // Two rng "pods" with host names of their own (a UTS namespace each), behind a connection balancer as a Service.
        LauncherProcess.RequireIsolation();
        var (portA, portB) = (FreePort.Next(), FreePort.Next());
        await using var rngA = StartRngPod("rng-pod-a", portA);
        await using var rngB = StartRngPod("rng-pod-b", portB);
        await rngA.WaitForOutputAsync("RamCoin is running");
        await rngB.WaitForOutputAsync("RamCoin is running");
        await using var service = RoundRobinProxy.Start(portA);
        await using var store = await StoreServer.StartGarnetAsync();
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher);
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: store.Peers());
        await using var workers = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_CONCURRENCY"] = "10" }, peers: store.Peers(service.Address, hasher.Address));
        await Eventually.TrueAsync(async () => (await ReadAsync(webui, "dashboard.json")).Contains("rng-pod-a", StringComparison.Ordinal), "the web UI sees rng-pod-a");
        SkipUnlessTheDashboardHasACeiling(await ReadAsync(webui, "dashboard.json"));
        await Task.Delay(3000, Ct);

        var one = await RamCoinCheck.RunAsync("daemonset", webui);
        Assert.Equal(1, one.ExitCode);
        Assert.Contains("✗ more than one rng instance answers: 1 answers: rng-pod-a", one.Output, StringComparison.Ordinal);
        Assert.Contains("✗ the expected ceiling rose with them: it stayed at about 10.0 hashes/s", one.Output, StringComparison.Ordinal);

        // The DaemonSet's second pod joins the Service: new connections reach it (the workers renew theirs every second).
        service.Add(portB);
        await Eventually.TrueAsync(async () => (await RamCoinCheck.RunAsync("daemonset", webui)).ExitCode == 0, "the daemonset check passes", 25);
        var two = await RamCoinCheck.RunAsync("daemonset", webui);
        Assert.Contains("✓ more than one rng instance answers: 2 answer: rng-pod-a, rng-pod-b", two.Output, StringComparison.Ordinal);
        Assert.True(Regex.IsMatch(two.Output, @"✓ the expected ceiling rose with them: 10\.0 → 20\.0 hashes/s as 1 rng instance appeared"), two.Output);
    }

    /// <summary><c>ramcoin rng</c> in the classic profile in a UTS namespace of its own: its host name, its instance name, is <paramref name="name"/>.</summary>
    private static LauncherProcess StartRngPod(string name, int port) => LauncherProcess.StartProgram(
        "unshare",
        ["-u", "sh", "-c", $"hostname {name} && exec \"$0\" \"$1\" rng --rng-port {port} --profile classic", Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", Path.Combine(AppContext.BaseDirectory, "ramcoin.dll")],
        null,
        name);

    /// <summary>The expected ceiling comes from another change (h17ceiling); until it is merged the lesson cannot be judged.</summary>
    private static void SkipUnlessTheDashboardHasACeiling(string dashboard)
    {
        if (!dashboard.Contains("\"ceiling\":", StringComparison.Ordinal))
        {
            Assert.Skip("dashboard.json has no expected ceiling (issue 17 item 1, not merged yet): scaling and daemonset cannot be judged.");
        }
    }

    /// <summary>A JSON answer of the web UI; empty while it answers 503 (no sample of the store yet).</summary>
    private static async Task<string> ReadAsync(RunningService webui, string path)
    {
        using var answer = await webui.Client.GetAsync(path, Ct);
        return answer.IsSuccessStatusCode ? await answer.Content.ReadAsStringAsync(Ct) : "";
    }

    private static string Since(DateTime start) => ((int)Math.Ceiling((DateTime.UtcNow - start).TotalSeconds) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
