using System.Text.RegularExpressions;
using RamCoin.Hosting;
using RamCoin.Tests.Infrastructure;

namespace RamCoin.Tests;

/// <summary>
/// <c>ramcoin check</c> against real runs: real services, a real store, the web UI's API only; each lesson passes and
/// fails for the reason it should (a worker rolled out with and without a pause, an rng that goes and comes back).
/// </summary>
[Collection(nameof(TimedLabRuns))]
public sealed class LabCheckRunTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string?> Worker(string id, string version) => new()
    {
        ["WORKER_ID"] = id,
        ["RAMCOIN_VERSION"] = version,
        ["WORKER_FLUSH_MS"] = "200",
        ["WORKER_DELAY_MS"] = "5",
    };

    /// <summary>Runs the command as <c>ramcoin check</c> runs it, in this process: its exit code and everything it printed.</summary>
    private static async Task<(int ExitCode, string Output)> CheckAsync(string lesson, RunningService webui, params string[] more)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await RamCoin.LauncherCommand.Create(output, error).Parse(["check", lesson, "--webui", webui.Address.ToString(), .. more]).InvokeAsync(cancellationToken: Ct);
        return (exit, output.ToString() + error);
    }

    [Fact]
    public async Task RolloutPassesWhenANewVersionMinesBeforeTheOldStopsAndFailsWhenTheCounterStoodStill()
    {
        await using var rig = await MiningRig.StartAsync();
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: rig.Store.Peers());
        var old = await RunningService.StartAsync(ServiceNames.Worker, Worker("worker-old", "1.0.0"), Profile.Fast, rig.Peers.With(rig.Store));
        await Eventually.TrueAsync(async () => (await ReadAsync(webui, "dashboard.json")).Contains("1.0.0", StringComparison.Ordinal), "the web UI sees the worker");

        var before = await CheckAsync("rollout", webui);
        Assert.Equal(1, before.ExitCode);
        Assert.Contains("✗ a version change happened in the window: no version change in the last 300 s", before.Output, StringComparison.Ordinal);

        // maxSurge 1, maxUnavailable 0: the new pod mines before the old one goes. The window starts here: a loaded
        // machine's first seconds of JIT are no part of the rollout.
        var rollout = DateTime.UtcNow;
        await using var surge = await RunningService.StartAsync(ServiceNames.Worker, Worker("worker-new", "2.0.0"), Profile.Fast, rig.Peers.With(rig.Store));
        await Eventually.TrueAsync(async () => (await ReadAsync(webui, "timeline.json")).Contains("\"version\"", StringComparison.Ordinal), "the timeline has the version change");
        await old.DisposeAsync();
        await Task.Delay(2500, Ct);

        var good = await CheckAsync("rollout", webui, "--window", Since(rollout));
        Assert.True(good.ExitCode == 0, good.Output);
        Assert.Contains("✓ a version change happened in the window: worker version 1.0.0 → 1.0.0, 2.0.0", good.Output, StringComparison.Ordinal);
        Assert.Contains("✓ the hash count never stalled for more than 2 s", good.Output, StringComparison.Ordinal);
        Assert.Contains("rollout: all 2 checks pass.", good.Output, StringComparison.Ordinal);

        // A Recreate rollout: the running worker stops, its successor comes 4 s later.
        await surge.DisposeAsync();
        await Task.Delay(4000, Ct);
        await using var recreated = await RunningService.StartAsync(ServiceNames.Worker, Worker("worker-new", "3.0.0"), Profile.Fast, rig.Peers.With(rig.Store));
        await Task.Delay(2000, Ct);

        var bad = await CheckAsync("rollout", webui, "--window", Since(rollout));
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("✓ a version change happened in the window", bad.Output, StringComparison.Ordinal);
        Assert.True(Regex.IsMatch(bad.Output, @"✗ the hash count never stalled for more than 2 s: it stood still for [3-9] s, from \d+ s ago"), bad.Output);
        Assert.Contains("hint: The old workers stopped before new ones mined", bad.Output, StringComparison.Ordinal);
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
            var nothing = await CheckAsync("healthchecks", webui);
            Assert.Equal(1, nothing.ExitCode);
            Assert.Contains("✗ an instance went unready (the workers stopped reaching it): no instance went away in the last 300 s", nothing.Output, StringComparison.Ordinal);
            Assert.Contains("hint: Make one pod unready: RAMCOIN_FORCE_UNREADY=true", nothing.Output, StringComparison.Ordinal);

            // Out of the workers' reach (as a pod out of its Service): the workers' calls fail.
            await rng.DisposeAsync();
            await Eventually.TrueAsync(async () => (await ReadAsync(webui, "timeline.json")).Contains("\"gone\"", StringComparison.Ordinal), "the timeline has rng gone");
            var away = await CheckAsync("healthchecks", webui);
            Assert.Equal(1, away.ExitCode);
            // hasher too: a worker that gets no bytes from rng calls hasher no more.
            Assert.True(Regex.IsMatch(away.Output, @"✓ an instance went unready \(the workers stopped reaching it\): (rng|hasher) \S+ no longer answers any worker, \d+ s ago"), away.Output);
            Assert.True(Regex.IsMatch(away.Output, @"✗ and it came back: (rng|hasher) \S+ no longer answers any worker \d+ s ago and has not come back"), away.Output);

            rng = await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast, port: port);
            await Eventually.TrueAsync(async () => (await CheckAsync("healthchecks", webui)).ExitCode == 0, "the check passes");
            var back = await CheckAsync("healthchecks", webui);
            Assert.True(Regex.IsMatch(back.Output, @"✓ and it came back: (rng|hasher) \S+ answers the workers, \d+ s after it went"), back.Output);
            Assert.Contains("healthchecks: all 2 checks pass.", back.Output, StringComparison.Ordinal);
        }
        finally
        {
            await rng.DisposeAsync();
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

/// <summary>
/// The lab checks judge timings (a 2 s stall, 10 % of a ceiling): their runs go alone, after the parallel tests, so
/// that another test's load is not what they measure.
/// </summary>
[CollectionDefinition(nameof(TimedLabRuns), DisableParallelization = true)]
public sealed class TimedLabRuns;
