using RamCoin.Tests.Engine;

namespace RamCoin.Tests.Cluster;

/// <summary>
/// The course's "sequence of commands to launch ram_coin on Kubernetes", word for word as deploy/kubernetes/README.md
/// gives it, on the real cluster: a registry Deployment on NodePort 30000, the four images built and pushed to it,
/// plain <c>kubectl create deployment</c> pods (no securityContext of ours) that pull them, the slides' Services, and
/// the web UI's NodePort mining.
/// </summary>
[Collection(nameof(RealEngine))]
public sealed class SlidesTests(DockerEngine engine, KubernetesCluster cluster)
{
    /// <summary>The block of deploy/kubernetes/README.md under "The course's sequence".</summary>
    private static string Sequence()
    {
        var readme = Repo.Read("deploy/kubernetes/README.md");
        var start = readme.IndexOf("```sh\n# The course's sequence", StringComparison.Ordinal);
        Assert.True(start >= 0, "deploy/kubernetes/README.md holds the course's sequence");
        start = readme.IndexOf('\n', start) + 1;
        return readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
    }

    [Fact]
    public void TheSequenceIsTheSlides()
    {
        var sequence = Sequence();
        foreach (var line in new[]
        {
            "kubectl create deployment registry --image=registry",
            "kubectl expose deployment registry --port=5000 --type=NodePort",
            "export REGISTRY=127.0.0.1:30000 TAG=v0.1",
            "docker compose -f compose.images.yaml build",
            "docker compose -f compose.images.yaml push",
            "kubectl create deployment redis --image=redis",
            "for SERVICE in hasher rng webui worker; do kubectl create deployment $SERVICE --image=$REGISTRY/$SERVICE:$TAG; done",
            "kubectl expose deployment redis --port 6379",
            "kubectl expose deployment rng --port 80",
            "kubectl expose deployment hasher --port 80",
            "kubectl expose deployment webui --type=NodePort --port=80",
        })
        {
            Assert.Contains(line, sequence, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TheSlidesSequenceRunsAsWrittenAndTheWebUIsNodePortMines()
    {
        await cluster.StartAsync(engine);
        try
        {
            var clock = Stopwatch.StartNew();
            var output = await cluster.ShellAsync(Sequence() + "\nkubectl rollout status deployment/webui --timeout=180s\nkubectl rollout status deployment/worker --timeout=180s");
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"cluster: the slides' sequence (registry, build, push, create, expose) until the web UI and the worker were ready: {clock.Elapsed.TotalSeconds:F0} s"));

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var catalog = await http.GetFromJsonAsync<JsonElement>($"http://{KubernetesCluster.Registry}/v2/_catalog", Ct);
            Assert.Equal(["hasher", "rng", "webui", "worker"], catalog.GetProperty("repositories").EnumerateArray().Select(r => r.GetString()).Order());

            foreach (var service in DockerEngine.Services)
            {
                await cluster.KubectlAsync("rollout", "status", $"deployment/{service}", "--timeout=180s");
                var pod = JsonDocument.Parse(await cluster.KubectlAsync("get", "pods", "-l", $"app={service}", "-o", "json")).RootElement.GetProperty("items")[0];
                var container = pod.GetProperty("spec").GetProperty("containers")[0];
                Assert.Equal($"{KubernetesCluster.Registry}/{service}:v0.1", container.GetProperty("image").GetString());
                // The slides' pods: nothing of ours opens port 80 (no securityContext, no sysctl).
                Assert.False(container.TryGetProperty("securityContext", out _), $"{service}'s pod has a securityContext");
                Assert.False(pod.GetProperty("spec").GetProperty("securityContext").TryGetProperty("sysctls", out _));
                var status = pod.GetProperty("status").GetProperty("containerStatuses")[0];
                Assert.True(status.GetProperty("ready").GetBoolean(), $"{service} is ready");
                // Pulled from the registry: the node knows the image by the registry's digest.
                Assert.StartsWith($"{KubernetesCluster.Registry}/{service}@sha256:", status.GetProperty("imageID").GetString(), StringComparison.Ordinal);
            }

            var nodePort = (await cluster.KubectlAsync("get", "service", "webui", "-o", "jsonpath={.spec.ports[0].nodePort}")).Trim();
            var webui = $"http://127.0.0.1:{nodePort}/";
            long first = 0;
            await Eventually.TrueAsync(async () => (first = await KubernetesCluster.HashesAsync(webui) ?? 0) > 0, "the web UI's NodePort shows hashes", 90);
            await Eventually.TrueAsync(async () => await KubernetesCluster.HashesAsync(webui) > first + 5, "the hash count rises", 60);
            var rate = await KubernetesCluster.RateAsync(webui, 10);
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"cluster: the slides' pods mine {rate:F1} hashes/s (one worker, classic)"));
            Assert.InRange(rate, 2.5, 4.5);
            Assert.Contains("service/webui exposed", output, StringComparison.Ordinal);
        }
        finally
        {
            await cluster.TryKubectlAsync("delete", "deployment,service", "registry", "redis", "rng", "hasher", "worker", "webui", "--ignore-not-found", "--wait=true");
        }
    }
}
