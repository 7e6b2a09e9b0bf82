using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using RamCoin.Tests.Cluster;
using RamCoin.Tests.Engine;

namespace RamCoin.Tests.Helm;

/// <summary>
/// The chart on the real cluster, as docs/kubernetes.md, Helm, tells it: install (the images named by the in-cluster
/// registry, every pod Ready, the count rising), <c>helm test</c>, a live upgrade of the web UI's tag with a Chromium
/// page open that reloads itself while the count keeps rising, a rollback, an uninstall that leaves only the store's
/// volume; and the chart packaged, pushed to the local registry as an OCI artifact and installed from there.
/// </summary>
[Collection(nameof(RealEngine))]
public sealed class HelmClusterTests(DockerEngine engine, KubernetesCluster cluster, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const string Namespace = "ramcoin";

    /// <summary>The tests' images under the in-cluster registry's name (already on the node), and the in-cluster registry.</summary>
    private static readonly string[] InClusterImages = ["--set", $"image.registry={KubernetesCluster.Registry},image.tag={KubernetesCluster.Tag},registry.enabled=true"];

    [Fact]
    public async Task InstallTestUpgradeLiveRollBackAndUninstallLeaveOnlyTheStoresVolume()
    {
        await cluster.StartAsync(engine);
        await cluster.DeleteNamespaceAsync(Namespace);
        var page = await browser.NewPageAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            // Three workers: a flush a second from each, so a count that stands still means a stall, not a gap between flushes.
            var install = await HelmAsync(["install", "ramcoin", HelmTool.Chart, "-n", Namespace, "--create-namespace", .. InClusterImages, "--set", "worker.replicas=3", "--wait", "--timeout", "5m"]);
            var installed = clock.Elapsed;
            Assert.Contains("ramcoin check scaling", install, StringComparison.Ordinal);
            await ClusterSteps.AssertRestrictedAndReadyAsync(cluster, expectedPods: 8);
            await Eventually.TrueAsync(async () => await KubernetesCluster.HashesAsync(ClusterSteps.WebUIUrl) > 0, "the web UI shows hashes", 90);
            var rate = 0.0;
            for (var wait = Stopwatch.StartNew(); rate <= 1 && wait.Elapsed < TimeSpan.FromSeconds(90);)
            {
                rate = await KubernetesCluster.RateAsync(ClusterSteps.WebUIUrl, 5);
            }

            Assert.True(rate > 1, $"{rate:F1} hashes/s after helm install{await cluster.PodsAsync()}\n{(await cluster.TryKubectlAsync("-n", Namespace, "logs", "deploy/worker", "--tail=30")).Output}");
            var password = await StorePasswordAsync();

            clock.Restart();
            var test = await HelmAsync(["test", "ramcoin", "-n", Namespace, "--timeout", "2m"]);
            var tested = clock.Elapsed;
            Assert.Matches(@"TEST SUITE:\s+ramcoin-test-json\n(.*\n)*?Phase:\s+Succeeded", test);

            // v2 of the web UI exists only in the in-cluster registry: the node pulls it from there.
            await engine.RunAsync("sh", ["-c", $"printf 'FROM {KubernetesCluster.Registry}/webui:{KubernetesCluster.Tag}\\nENV RAMCOIN_VERSION=v2\\n' | docker build -q -t {KubernetesCluster.Registry}/webui:v2 - && docker push -q {KubernetesCluster.Registry}/webui:v2"]);
            await page.GotoAsync(ClusterSteps.WebUIUrl);
            await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("0.1.0", new() { Timeout = 30_000 });
            await page.EvaluateAsync("window.loadedBeforeUpdate = true");
            using var sampling = new CancellationTokenSource();
            var samples = new ConcurrentQueue<(TimeSpan At, long Hashes)>();
            var sampler = LiveUpdateTests.SampleAsync(samples, sampling.Token);

            clock.Restart();
            await HelmAsync(["upgrade", "ramcoin", HelmTool.Chart, "-n", Namespace, "--reuse-values", "--set", "webui.image.tag=v2", "--wait", "--timeout", "5m"]);
            var upgraded = clock.Elapsed;
            await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("v2", new() { Timeout = 60_000 });
            var onV2 = clock.Elapsed;
            Assert.False(await page.EvaluateAsync<bool>("window.loadedBeforeUpdate === true"), "the open page reloaded itself onto v2");
            Assert.Equal(password, await StorePasswordAsync());

            await page.EvaluateAsync("window.loadedBeforeUpdate = true");
            clock.Restart();
            await HelmAsync(["rollback", "ramcoin", "1", "-n", Namespace, "--wait", "--timeout", "5m"]);
            var rolledBack = clock.Elapsed;
            await Assertions.Expect(page.Locator("#webui-version")).ToHaveTextAsync("0.1.0", new() { Timeout = 60_000 });
            Assert.False(await page.EvaluateAsync<bool>("window.loadedBeforeUpdate === true"), "the open page reloaded itself onto the rolled-back version");
            Assert.Equal($"{KubernetesCluster.Registry}/webui:{KubernetesCluster.Tag}", (await cluster.KubectlAsync("-n", Namespace, "get", "deployment", "webui", "-o", "jsonpath={.spec.template.spec.containers[0].image}")).Trim());
            var history = await HelmAsync(["history", "ramcoin", "-n", Namespace, "-o", "json"]);
            Assert.Equal(3, JsonDocument.Parse(history).RootElement.GetArrayLength());

            await Task.Delay(TimeSpan.FromSeconds(3), Ct);
            await sampling.CancelAsync();
            await sampler;
            var series = samples.ToArray();
            var stall = SwarmTests.LongestStall(series);
            Assert.True(series.Length > 10, $"{series.Length} samples of the counter");
            Assert.True(stall <= TimeSpan.FromSeconds(2), $"the count stood still for {stall.TotalSeconds:F1} s during the upgrade and the rollback");
            Assert.Equal(password, await StorePasswordAsync());
            Assert.Equal("3", (await cluster.KubectlAsync("-n", Namespace, "get", "deployment", "worker", "-o", "jsonpath={.spec.replicas}")).Trim());

            clock.Restart();
            await HelmAsync(["uninstall", "ramcoin", "-n", Namespace, "--wait", "--timeout", "3m"]);
            var uninstalled = clock.Elapsed;
            // --wait returns once the objects are gone; their pods may still be stopping (the worker has 30 s to flush).
            await Eventually.TrueAsync(async () => (await LeftInNamespaceAsync()).SequenceEqual(["persistentvolumeclaim/redis-data"]), "only the store's volume is left", 120);
            var emptied = clock.Elapsed;

            Figures.Report(string.Create(CultureInfo.InvariantCulture,
                $"helm: install --wait {installed.TotalSeconds:F0} s ({rate:F1} h/s); test {tested.TotalSeconds:F0} s; upgrade of the web UI to v2 --wait {upgraded.TotalSeconds:F0} s, the open page on v2 {onV2.TotalSeconds:F0} s after the upgrade began; rollback --wait {rolledBack.TotalSeconds:F0} s; uninstall --wait {uninstalled.TotalSeconds:F0} s (only the store's volume left after {emptied.TotalSeconds:F0} s); count from {series[0].Hashes} to {series[^1].Hashes}, longest stall {stall.TotalSeconds:F1} s"));
        }
        finally
        {
            await page.CloseAsync();
            await HelmTool.TryRunAsync(["uninstall", "ramcoin", "-n", Namespace, "--ignore-not-found", "--wait"], cluster.Environment, 300);
            await cluster.DeleteNamespaceAsync(Namespace);
        }
    }

    [Fact]
    public async Task ThePackagedChartPushedToTheLocalRegistryInstallsFromThere()
    {
        await cluster.StartAsync(engine);
        await cluster.DeleteNamespaceAsync(Namespace);
        var folder = Directory.CreateTempSubdirectory("ramcoin-chart-");
        try
        {
            await engine.ShellAsync("docker compose -f compose.registry.yaml up -d");
            await Eventually.TrueAsync(DockerEngine.RegistryAnswersAsync, "the local registry answers", 60);
            var package = await HelmAsync(["package", HelmTool.Chart, "-d", folder.FullName]);
            var archive = Path.Combine(folder.FullName, "ramcoin-0.1.0.tgz");
            Assert.True(File.Exists(archive), package);
            var push = await HelmTool.TryRunAsync(["push", archive, $"oci://{DockerEngine.Registry}/charts", "--plain-http"], cluster.Environment);
            Assert.True(push.ExitCode == 0, "helm push: " + push.Describe());
            Assert.Contains($"Pushed: {DockerEngine.Registry}/charts/ramcoin:0.1.0", push.Output + push.Error, StringComparison.Ordinal);

            // Every toggle at once: the API versions of the HPA and the PDBs come from what this 1.20 API server serves.
            var clock = Stopwatch.StartNew();
            var install = await HelmAsync(["install", "ramcoin", $"oci://{DockerEngine.Registry}/charts/ramcoin", "--version", "0.1.0", "--plain-http", "-n", Namespace, "--create-namespace",
                "--set", $"image.registry={KubernetesCluster.Registry},image.tag={KubernetesCluster.Tag}",
                "--set", "profile=fast,rng.kind=DaemonSet,worker.autoscaling.enabled=true,podDisruptionBudgets.enabled=true,networkPolicies.enabled=true,prometheusScrape.enabled=true",
                "--wait", "--timeout", "5m"]);
            var installed = clock.Elapsed;
            Assert.Contains("ramcoin check daemonset", install, StringComparison.Ordinal);
            Assert.DoesNotContain("NOTE:", install, StringComparison.Ordinal);
            await ClusterSteps.AssertRestrictedAndReadyAsync(cluster, expectedPods: 6);
            var rate = 0.0;
            await Eventually.TrueAsync(async () => (rate = await KubernetesCluster.RateAsync(ClusterSteps.WebUIUrl, 3)) > 100, "the fast profile mines", 90);
            Assert.Contains("ramcoin-0.1.0", await HelmAsync(["list", "-n", Namespace]), StringComparison.Ordinal);
            var manifest = await HelmAsync(["get", "manifest", "ramcoin", "-n", Namespace]);
            Assert.Contains("apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler", manifest, StringComparison.Ordinal);
            Assert.Equal(4, Regex.Count(manifest, @"apiVersion: policy/v1beta1\nkind: PodDisruptionBudget"));
            Assert.Equal("DaemonSet", (await cluster.KubectlAsync("-n", Namespace, "get", "daemonset", "rng", "-o", "jsonpath={.kind}")).Trim());
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"helm: install from oci://{DockerEngine.Registry}/charts/ramcoin with every toggle (fast) --wait {installed.TotalSeconds:F0} s, {rate:F0} h/s"));
        }
        finally
        {
            folder.Delete(recursive: true);
            await HelmTool.TryRunAsync(["uninstall", "ramcoin", "-n", Namespace, "--ignore-not-found", "--wait"], cluster.Environment, 300);
            await cluster.DeleteNamespaceAsync(Namespace);
        }
    }

    private async Task<string> HelmAsync(string[] args)
    {
        var result = await HelmTool.TryRunAsync(args, cluster.Environment, 600);
        Assert.True(result.ExitCode == 0, $"helm {string.Join(' ', args)}: {result.Describe()}{await cluster.PodsAsync()}");
        return result.Output;
    }

    private async Task<string> StorePasswordAsync() =>
        await cluster.KubectlAsync("-n", Namespace, "get", "secret", "ramcoin-store", "-o", "jsonpath={.data.REDIS_PASSWORD}");

    /// <summary>What is left in the namespace, but for what Kubernetes puts in every namespace by itself.</summary>
    private async Task<string[]> LeftInNamespaceAsync()
    {
        var output = await cluster.KubectlAsync("-n", Namespace, "get", "all,configmaps,secrets,serviceaccounts,persistentvolumeclaims,networkpolicies,poddisruptionbudgets,horizontalpodautoscalers", "-o", "name");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(o => o is not ("configmap/kube-root-ca.crt" or "serviceaccount/default") && !o.StartsWith("secret/default-token-", StringComparison.Ordinal))
            .Order().ToArray();
    }
}
