namespace RamCoin.Tests.Cluster;

/// <summary>What the cluster tests do again and again: the README's deploy, <c>ramcoin check</c>, the pods' state.</summary>
public static class ClusterSteps
{
    public const string WebUIUrl = "http://127.0.0.1:30080/";

    public static Dictionary<string, string?> Overlay(string overlay, string components = "") =>
        new() { ["OVERLAY"] = overlay, ["COMPONENTS"] = components, ["TIMEOUT"] = "240" };

    /// <summary>secret, deploy and wait; the seconds from deploy to every rollout done.</summary>
    public static async Task<double> DeployAsync(KubernetesCluster cluster, Dictionary<string, string?> settings)
    {
        await cluster.DeleteNamespaceAsync("ramcoin");
        await cluster.PipelineAsync("secret", settings);
        var clock = Stopwatch.StartNew();
        await cluster.PipelineAsync("deploy", settings);
        await cluster.PipelineAsync("wait", settings);
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary><c>ramcoin check LESSON --webui URL</c>, in this process: its exit code and what it printed.</summary>
    public static Task<(int ExitCode, string Output)> CheckAsync(string lesson, string webui = WebUIUrl) =>
        RamCoinCheck.RunAsync(["check", lesson, "--webui", webui]);

    /// <summary>Every pod of the namespace Ready, and each container of ours as the restricted profile wants it.</summary>
    public static async Task AssertRestrictedAndReadyAsync(KubernetesCluster cluster, int expectedPods)
    {
        var pods = JsonDocument.Parse(await cluster.KubectlAsync("-n", "ramcoin", "get", "pods", "-o", "json")).RootElement.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(expectedPods, pods.Count);
        foreach (var pod in pods)
        {
            var name = pod.GetProperty("metadata").GetProperty("name").GetString();
            Assert.True(pod.GetProperty("status").GetProperty("containerStatuses").EnumerateArray().All(c => c.GetProperty("ready").GetBoolean()), $"{name} is ready");
            var spec = pod.GetProperty("spec");
            Assert.True(spec.GetProperty("securityContext").GetProperty("runAsNonRoot").GetBoolean(), $"{name} runs as non-root");
            foreach (var container in spec.GetProperty("containers").EnumerateArray())
            {
                var security = container.GetProperty("securityContext");
                Assert.False(security.GetProperty("allowPrivilegeEscalation").GetBoolean(), $"{name}: no privilege escalation");
                Assert.True(security.GetProperty("readOnlyRootFilesystem").GetBoolean(), $"{name}: read-only root");
                Assert.Equal("ALL", security.GetProperty("capabilities").GetProperty("drop")[0].GetString());
            }
        }
    }

}
