using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace RamCoin.Tests.Engine;

/// <summary>
/// The Swarm stack from the registry's images on a one-node swarm, driven by the pipeline script
/// (deploy/ci/pipeline.sh): it mines, rng runs in global mode, workers scale, a rolling update of the web UI makes an
/// open dashboard reload itself onto the new version while the count goes on rising, and an update to a tag that
/// never turns healthy rolls back by itself.
/// This kernel has no IPVS, so Swarm's virtual IPs and its ingress routing mesh do not work here: the test deploys a
/// copy of the stack with <c>endpoint_mode: dnsrr</c> and without published ports (host-mode ports on one node would
/// block the start-first update: the new task could not bind the port the old one holds), and reaches the web UI
/// through a socat container on the stack's attachable overlay network. The committed stack file stays as real
/// clusters need it.
/// </summary>
[Collection(nameof(RealEngine))]
public sealed partial class SwarmTests(DockerEngine engine, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    /// <summary>Not the guide's "ramcoin": a developer's own stack is left alone.</summary>
    public const string Stack = "ramcointest";
    private const string Network = Stack + "_ramcoin";

    [Fact]
    public async Task TheStackMinesScalesUpdatesTheWebUIUnderAnOpenPageAndRollsBackABrokenTag()
    {
        engine.Require();
        var page = await browser.NewPageAsync();
        await engine.PushAsync();
        await engine.SwarmAsync();
        var stackFile = Path.Combine(engine.Folder, "stack.dnsrr.yaml");
        await File.WriteAllTextAsync(stackFile, WithoutVirtualIPs(await File.ReadAllTextAsync(Path.Combine(engine.Folder, "deploy/swarm/stack.yaml"), Ct)), Ct);
        string? proxy = null;
        try
        {
            var clock = Stopwatch.StartNew();
            await PipelineAsync("deploy", "v0.1", new() { ["STACK_FILE"] = stackFile });
            await PipelineAsync("wait", "v0.1");
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"engine: swarm stack from the registry's images: every service running and healthy {clock.Elapsed.TotalSeconds:F0} s after deploy"));

            var port = FreePort.Next();
            proxy = (await engine.DockerAsync("run", "-d", "--label", "ramcoin.test=swarm", "--network", Network, "-p", $"127.0.0.1:{port}:80", DockerEngine.Tools, "socat", "TCP-LISTEN:80,fork,reuseaddr", "TCP:webui:80")).Trim();
            var webui = $"http://127.0.0.1:{port}/";
            await PipelineAsync("check", "v0.1", args: webui);

            // rng: global, one task on each node (this swarm has one).
            Assert.Contains("Global", await engine.DockerAsync("service", "inspect", "--format", "{{json .Spec.Mode}}", $"{Stack}_rng"), StringComparison.Ordinal);
            var nodes = (await engine.DockerAsync("node", "ls", "-q")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
            Assert.Equal(nodes, (await engine.DockerAsync("service", "ps", "-q", "--filter", "desired-state=running", $"{Stack}_rng")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

            await engine.ShellAsync($"docker service scale {Stack}_worker=10");
            await PipelineAsync("wait", "v0.1", new() { ["SERVICES"] = "worker" });
            Assert.Contains($"{Stack}_worker 10/10", await engine.DockerAsync("service", "ls", "--format", "{{.Name}} {{.Replicas}}"), StringComparison.Ordinal);

            await page.GotoAsync(webui);
            await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("v0.1", new() { Timeout = 30_000 });
            await page.EvaluateAsync("window.loadedBeforeUpdate = true");

            // The store's counter, read every second while the web UI is replaced.
            using var sampling = new CancellationTokenSource();
            var samples = new ConcurrentQueue<(TimeSpan At, long Hashes)>();
            var sampler = SampleAsync(samples, sampling.Token);

            var update = Stopwatch.StartNew();
            await PipelineAsync("build", "v0.2", new() { ["SERVICES"] = "webui" });
            await PipelineAsync("push", "v0.2", new() { ["SERVICES"] = "webui" });
            await PipelineAsync("deploy", "v0.2", new() { ["SERVICES"] = "webui" });
            await PipelineAsync("wait", "v0.2", new() { ["SERVICES"] = "webui" });
            await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("v0.2", new() { Timeout = 60_000 });
            Assert.False(await page.EvaluateAsync<bool>("window.loadedBeforeUpdate === true"), "the open page reloaded itself");
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"engine: swarm rolling update of webui to v0.2 (build, push, update, wait): the open page showed v0.2 after {update.Elapsed.TotalSeconds:F0} s"));
            await PipelineAsync("check", "v0.2", args: webui);

            await sampling.CancelAsync();
            await sampler;
            var series = samples.ToArray();
            Assert.True(series.Length > 10, $"{series.Length} samples of the counter");
            var gaps = series.Zip(series.Skip(1)).Where(p => p.Second.Hashes < p.First.Hashes).ToList();
            Assert.Empty(gaps);
            var longestStall = LongestStall(series);
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"engine: during the rolling update the counter rose from {series[0].Hashes} to {series[^1].Hashes}; longest time without a rise {longestStall.TotalSeconds:F1} s"));
            Assert.True(longestStall < TimeSpan.FromSeconds(5), $"the count stopped rising for {longestStall.TotalSeconds:F1} s");

            // A tag whose web UI never turns healthy: it listens on 8081 while its health check asks port 80.
            await engine.RunAsync("sh", ["-c", $"printf 'FROM {DockerEngine.Registry}/webui:v0.2\\nENV ASPNETCORE_URLS=http://+:8081\\n' | docker build -q -t {DockerEngine.Registry}/webui:v0.3-broken - && docker push -q {DockerEngine.Registry}/webui:v0.3-broken"]);
            var rollback = Stopwatch.StartNew();
            await PipelineAsync("deploy", "v0.3-broken", new() { ["SERVICES"] = "webui" });
            var failed = await engine.TryPipelineAsync("wait", "v0.3-broken", Swarm(new() { ["SERVICES"] = "webui", ["TIMEOUT"] = "240" }));
            Assert.True(failed.ExitCode != 0, "the wait for a broken update fails: " + failed.Describe());
            Assert.Contains("roll", failed.Output + failed.Error, StringComparison.OrdinalIgnoreCase);
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"engine: swarm update to a tag that never turns healthy rolled back by itself after {rollback.Elapsed.TotalSeconds:F0} s"));
            var image = (await engine.DockerAsync("service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", $"{Stack}_webui")).Trim();
            Assert.StartsWith($"{DockerEngine.Registry}/webui:v0.2", image, StringComparison.Ordinal);
            await PipelineAsync("check", "v0.2", args: webui);
            await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("v0.2");
        }
        finally
        {
            await page.CloseAsync();
            await engine.RemoveStackAsync();
            if (proxy is not null)
            {
                await engine.TryDockerAsync("rm", "-f", proxy);
            }
        }
    }

    /// <summary>The stack with DNS round robin instead of virtual IPs, and no published ports (see the class comment).</summary>
    public static string WithoutVirtualIPs(string stack)
    {
        var result = PortsBlock().Replace(stack, "");
        result = DeployLine().Replace(result, "$0      endpoint_mode: dnsrr\n");
        Assert.DoesNotContain("ports:", result, StringComparison.Ordinal);
        Assert.Equal(5, Regex.Count(result, "endpoint_mode: dnsrr"));
        return result;
    }

    [Fact]
    public void TheTestsStackCopyChangesOnlyTheEndpointModeAndThePorts()
    {
        var stack = Repo.Read("deploy/swarm/stack.yaml");
        var copy = WithoutVirtualIPs(stack);
        var removed = stack.Split('\n').Except(copy.Split('\n')).ToList();
        Assert.All(removed, line => Assert.Matches(@"^\s+(ports:|- ""\d+:80"")$", line));
        Assert.All(copy.Split('\n').Except(stack.Split('\n')), line => Assert.Equal("      endpoint_mode: dnsrr", line));
    }

    /// <summary>The longest time a sampled counter went without rising (the Kubernetes live update uses it too).</summary>
    internal static TimeSpan LongestStall((TimeSpan At, long Hashes)[] series)
    {
        var longest = TimeSpan.Zero;
        var since = series[0];
        foreach (var sample in series.Skip(1))
        {
            if (sample.Hashes > since.Hashes)
            {
                since = sample;
            }
            else if (sample.At - since.At > longest)
            {
                longest = sample.At - since.At;
            }
        }

        return longest;
    }

    private async Task SampleAsync(ConcurrentQueue<(TimeSpan, long)> samples, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        var redis = (await engine.DockerAsync("ps", "-q", "--filter", $"label=com.docker.swarm.service.name={Stack}_redis")).Trim();
        while (!stop.IsCancellationRequested)
        {
            samples.Enqueue((clock.Elapsed, await engine.StoreHashesAsync(redis)));
            try
            {
                await Task.Delay(1000, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private static Dictionary<string, string?> Swarm(Dictionary<string, string?>? settings = null) =>
        new(settings ?? []) { ["TARGET"] = "swarm", ["STACK"] = Stack };

    private Task<string> PipelineAsync(string step, string tag, Dictionary<string, string?>? settings = null, string? args = null) =>
        engine.PipelineAsync(step, tag, Swarm(settings), args);

    [GeneratedRegex(@"^    ports:\n(      - .*\n)+", RegexOptions.Multiline)]
    private static partial Regex PortsBlock();

    [GeneratedRegex(@"^    deploy:\n", RegexOptions.Multiline)]
    private static partial Regex DeployLine();
}
