using RamCoin.Tests.Engine;
using static RamCoin.Tests.Cluster.ClusterSteps;

namespace RamCoin.Tests.Cluster;

/// <summary>
/// Each overlay deployed on the real cluster the way the README tells it (<c>pipeline.sh secret</c>, <c>deploy</c>,
/// <c>wait</c>): every pod Ready under the restricted securityContext, the lessons' rates, a release that keeps what
/// a person scaled and the images of the services it does not name, and the store's volume through a pod's deletion.
/// </summary>
[Collection(nameof(RealEngine))]
public sealed class OverlayTests(DockerEngine engine, KubernetesCluster cluster)
{
    private static async Task<string[]> ImagesAsync(KubernetesCluster cluster) =>
        (await cluster.KubectlAsync("-n", "ramcoin", "get", "deployments,daemonsets", "-o", "jsonpath={range .items[*]}{.metadata.name}={.spec.template.spec.containers[0].image}{\"\\n\"}{end}"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Order().ToArray();

    [Fact]
    public async Task ClassicScalesFromOneWorkerToTenKeepsItsCountThroughAReleaseAndItsStoreThroughAPodDeletion()
    {
        await using var deployed = await DeployReadyAsync("classic", "", 5);

        await Eventually.TrueAsync(async () => (await CheckAsync("scaling")).ExitCode == 0, "ramcoin check scaling passes with one worker", 120);
        var one = await KubernetesCluster.RateAsync(WebUIUrl, 15);
        await cluster.KubectlAsync("-n", "ramcoin", "scale", "deployment", "worker", "--replicas=10");
        await cluster.KubectlAsync("-n", "ramcoin", "rollout", "status", "deployment/worker", "--timeout=180s");
        await Eventually.TrueAsync(async () => (await CheckAsync("scaling")).ExitCode == 0, "ramcoin check scaling passes with ten workers", 120);
        var ten = await KubernetesCluster.RateAsync(WebUIUrl, 15);
        Figures.Report(string.Create(CultureInfo.InvariantCulture, $"cluster: overlays/classic: {one:F1} hashes/s with one worker, {ten:F1} with ten"));
        Assert.InRange(one, 2.8, 3.8);
        Assert.InRange(ten, 8.5, 11);

        // A release of the web UI alone (another tag, never pulled): the ten workers stay, the others keep their images.
        var before = await ImagesAsync(cluster);
        await cluster.PipelineAsync("deploy", new Dictionary<string, string?>(Overlay("classic")) { ["SERVICES"] = "webui", ["TAG"] = "not-there" });
        Assert.Equal("10", (await cluster.KubectlAsync("-n", "ramcoin", "get", "deployment", "worker", "-o", "jsonpath={.spec.replicas}")).Trim());
        var after = await ImagesAsync(cluster);
        Assert.Equal(before.Where(i => !i.StartsWith("webui=", StringComparison.Ordinal)), after.Where(i => !i.StartsWith("webui=", StringComparison.Ordinal)));
        Assert.Contains($"webui={KubernetesCluster.Registry}/webui:not-there", after);
        await cluster.PipelineAsync("deploy", new Dictionary<string, string?>(Overlay("classic")) { ["SERVICES"] = "webui" });
        await cluster.KubectlAsync("-n", "ramcoin", "rollout", "status", "deployment/webui", "--timeout=180s");
        Assert.Equal("10", (await cluster.KubectlAsync("-n", "ramcoin", "get", "deployment", "worker", "-o", "jsonpath={.spec.replicas}")).Trim());

        // The store on its PersistentVolume: a deleted redis pod comes back with the count, and nothing is lost.
        var counted = await KubernetesCluster.HashesAsync(WebUIUrl) ?? 0;
        await cluster.KubectlAsync("-n", "ramcoin", "delete", "pod", "-l", "app=redis", "--wait=true");
        await cluster.KubectlAsync("-n", "ramcoin", "rollout", "status", "deployment/redis", "--timeout=180s");
        await Eventually.TrueAsync(async () => await KubernetesCluster.HashesAsync(WebUIUrl) > counted + 10, "the count goes on from where it was", 90);

        // Mining stopped (no rng): every worker's computed hashes are written, and the store holds their sum.
        await cluster.KubectlAsync("-n", "ramcoin", "scale", "deployment", "rng", "--replicas=0");
        await Task.Delay(TimeSpan.FromSeconds(5), Ct);
        var totals = await WorkerTotalsAsync(cluster);
        Assert.Equal(0, totals.Pending);
        Assert.Equal(totals.Computed, totals.Written);
        Assert.Equal(totals.Written, await KubernetesCluster.HashesAsync(WebUIUrl));
        Figures.Report(string.Create(CultureInfo.InvariantCulture, $"cluster: after a redis pod deletion under ten workers: {totals.Computed} hashes computed, {totals.Written} written, the store counts {totals.Written}"));
    }

    [Fact]
    public async Task TheFastOverlayMinesFast()
    {
        await using var deployed = await DeployReadyAsync("fast", "", 7);

        await Eventually.TrueAsync(async () => await KubernetesCluster.HashesAsync(WebUIUrl) > 0, "the fast overlay mines", 90);
        var rate = await KubernetesCluster.RateAsync(WebUIUrl, 10);
        Figures.Report(string.Create(CultureInfo.InvariantCulture, $"cluster: overlays/fast (two workers, two hashers): {rate:F0} hashes/s"));
        Assert.True(rate > 100, $"{rate:F0} hashes/s");
    }

    /// <summary>overlays/all-components without what Kubernetes 1.20 cannot take (autoscaling/v2, policy/v1): the rng
    /// DaemonSet, the network policies (stored, not enforced: no enforcing CNI here), the registry, the scrape annotations.</summary>
    [Fact]
    public async Task EveryComponent120CanTakeDeploysWithRngAsADaemonSet()
    {
        await using var deployed = await DeployReadyAsync("fast", "rng-daemonset network-policies registry prometheus-scrape", 8);

        Assert.Equal("1", (await cluster.KubectlAsync("-n", "ramcoin", "get", "daemonset", "rng", "-o", "jsonpath={.status.numberReady}")).Trim());
        Assert.False((await cluster.TryKubectlAsync("-n", "ramcoin", "get", "deployment", "rng")).ExitCode == 0, "rng is no Deployment any more");
        Assert.NotEmpty((await cluster.KubectlAsync("-n", "ramcoin", "get", "networkpolicies", "-o", "name")).Trim());
        await Eventually.TrueAsync(async () => await KubernetesCluster.HashesAsync(WebUIUrl) > 1000, "the web UI shows hashes", 90);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        Assert.True((await http.GetAsync($"http://{KubernetesCluster.Registry}/v2/", Ct)).IsSuccessStatusCode, "the registry answers on NodePort 30000");
    }

    /// <summary>
    /// An overlay deployed on the started cluster as the README tells it, timed, with every pod Ready under the
    /// restricted securityContext; disposing it removes the namespace.
    /// </summary>
    private async Task<IAsyncDisposable> DeployReadyAsync(string overlay, string components, int pods)
    {
        await cluster.StartAsync(engine);
        var deployed = new DeployedNamespace(cluster);
        try
        {
            var ready = await DeployAsync(cluster, Overlay(overlay, components));
            var what = components.Length == 0 ? $"overlays/{overlay}" : $"overlays/{overlay} with {components.Replace(" ", ", ", StringComparison.Ordinal)}";
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"cluster: {what}: pipeline.sh deploy to every rollout done: {ready:F0} s"));
            await AssertRestrictedAndReadyAsync(cluster, pods);
            return deployed;
        }
        catch
        {
            await deployed.DisposeAsync();
            throw;
        }
    }

    private sealed class DeployedNamespace(KubernetesCluster cluster) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await cluster.DeleteNamespaceAsync("ramcoin");
    }

    /// <summary>The workers' own totals (GET /status of each pod, through the API server's proxy).</summary>
    private static async Task<(long Computed, long Written, long Pending)> WorkerTotalsAsync(KubernetesCluster cluster)
    {
        var pods = (await cluster.KubectlAsync("-n", "ramcoin", "get", "pods", "-l", "app=worker", "-o", "jsonpath={.items[*].metadata.name}")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long computed = 0, written = 0, pending = 0;
        foreach (var pod in pods)
        {
            var status = JsonDocument.Parse(await cluster.KubectlAsync("get", "--raw", $"/api/v1/namespaces/ramcoin/pods/{pod}:80/proxy/status")).RootElement;
            computed += status.GetProperty("hashesComputed").GetInt64();
            written += status.GetProperty("hashesWritten").GetInt64();
            pending += status.GetProperty("hashesPending").GetInt64();
        }

        return (computed, written, pending);
    }
}
