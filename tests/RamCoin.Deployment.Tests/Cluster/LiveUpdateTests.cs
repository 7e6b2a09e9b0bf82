using System.Collections.Concurrent;
using Microsoft.Playwright;
using RamCoin.Tests.Engine;

namespace RamCoin.Tests.Cluster;

/// <summary>
/// The live-update demo as deploy/kubernetes/README.md tells it, on the real cluster: a Chromium page open on the web
/// UI's NodePort, a pipeline run with a new tag (build, push to the in-cluster registry, deploy, wait), the page
/// reloading itself onto the new version while the count keeps rising and the workers keep their scaled count; then
/// a tag whose web UI never turns ready, rolled back by <c>wait</c>.
/// </summary>
[Collection(nameof(RealEngine))]
public sealed class LiveUpdateTests(DockerEngine engine, KubernetesCluster cluster, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task AWebUIReleaseReloadsTheOpenPageWhileMiningGoesOnAndABrokenTagIsRolledBack()
    {
        await cluster.StartAsync(engine);
        var page = await browser.NewPageAsync();
        var settings = ClusterSteps.Overlay("classic", "registry");
        try
        {
            await ClusterSteps.DeployAsync(cluster, settings);
            await cluster.KubectlAsync("-n", "ramcoin", "scale", "deployment", "worker", "--replicas=3");
            await cluster.KubectlAsync("-n", "ramcoin", "rollout", "status", "deployment/worker", "--timeout=180s");
            await Eventually.TrueAsync(async () => await KubernetesCluster.HashesAsync(ClusterSteps.WebUIUrl) > 0, "the web UI shows hashes", 90);

            await page.GotoAsync(ClusterSteps.WebUIUrl);
            await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("0.1.0", new() { Timeout = 30_000 });
            await page.EvaluateAsync("window.loadedBeforeUpdate = true");

            using var sampling = new CancellationTokenSource();
            var samples = new ConcurrentQueue<(TimeSpan At, long Hashes)>();
            var sampler = SampleAsync(samples, sampling.Token);

            var release = new Dictionary<string, string?>(settings) { ["SERVICES"] = "webui", ["TAG"] = "v2" };
            var clock = Stopwatch.StartNew();
            await cluster.PipelineAsync("build", release);
            await cluster.PipelineAsync("push", release);
            var deployed = clock.Elapsed;
            await cluster.PipelineAsync("deploy", release);
            await cluster.PipelineAsync("wait", release);
            var ready = clock.Elapsed;
            await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("v2", new() { Timeout = 60_000 });
            Assert.False(await page.EvaluateAsync<bool>("window.loadedBeforeUpdate === true"), "the open page reloaded itself");
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"cluster: live update of the web UI to v2: build and push {deployed.TotalSeconds:F0} s, deploy to ready {(ready - deployed).TotalSeconds:F0} s, the open page showed v2 {clock.Elapsed.TotalSeconds:F0} s after the build started"));

            await Task.Delay(TimeSpan.FromSeconds(3), Ct);
            await sampling.CancelAsync();
            await sampler;
            var series = samples.ToArray();
            Assert.True(series.Length > 10, $"{series.Length} samples of the counter");
            var stall = SwarmTests.LongestStall(series);
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"cluster: during the live update the count rose from {series[0].Hashes} to {series[^1].Hashes}; longest time without a rise {stall.TotalSeconds:F1} s"));
            Assert.True(stall <= TimeSpan.FromSeconds(2), $"the count stood still for {stall.TotalSeconds:F1} s");
            Assert.Equal("3", (await cluster.KubectlAsync("-n", "ramcoin", "get", "deployment", "worker", "-o", "jsonpath={.spec.replicas}")).Trim());
            Assert.Contains($"{KubernetesCluster.Registry}/worker:{KubernetesCluster.Tag}", await cluster.KubectlAsync("-n", "ramcoin", "get", "deployment", "worker", "-o", "jsonpath={.spec.template.spec.containers[0].image}"), StringComparison.Ordinal);

            // A tag whose web UI listens on 8081 while its probes ask port 80: never ready, so wait rolls it back.
            await engine.RunAsync("sh", ["-c", $"printf 'FROM {KubernetesCluster.Registry}/webui:v2\\nENV ASPNETCORE_HTTP_PORTS=8081\\n' | docker build -q -t {KubernetesCluster.Registry}/webui:v3-broken - && docker push -q {KubernetesCluster.Registry}/webui:v3-broken"]);
            var broken = new Dictionary<string, string?>(settings) { ["SERVICES"] = "webui", ["TAG"] = "v3-broken", ["TIMEOUT"] = "60" };
            await cluster.PipelineAsync("deploy", broken);
            var failed = await cluster.TryPipelineAsync("wait", broken);
            Assert.True(failed.ExitCode == 1, "the wait for a web UI that never turns ready fails: " + failed.Describe());
            Assert.Contains("rolled back", failed.Error, StringComparison.Ordinal);
            await cluster.KubectlAsync("-n", "ramcoin", "rollout", "status", "deployment/webui", "--timeout=120s");
            Assert.Equal($"{KubernetesCluster.Registry}/webui:v2", (await cluster.KubectlAsync("-n", "ramcoin", "get", "deployment", "webui", "-o", "jsonpath={.spec.template.spec.containers[0].image}")).Trim());
            await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("v2");
        }
        finally
        {
            await page.CloseAsync();
            await cluster.DeleteNamespaceAsync("ramcoin");
        }
    }

    /// <summary>The web UI's count twice a second (through the NodePort: old or new pod, the same store).</summary>
    internal static async Task SampleAsync(ConcurrentQueue<(TimeSpan, long)> samples, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested)
        {
            if (await KubernetesCluster.HashesAsync(ClusterSteps.WebUIUrl) is { } hashes)
            {
                samples.Enqueue((clock.Elapsed, hashes));
            }

            try
            {
                await Task.Delay(500, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}
