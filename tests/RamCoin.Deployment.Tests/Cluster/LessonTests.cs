using System.Net.Http.Headers;
using RamCoin.Tests.Engine;

namespace RamCoin.Tests.Cluster;

/// <summary>
/// The health-check lessons on the real cluster (classic overlay): a forced-unready rng leaves its Service's endpoints
/// and comes back without a restart; the crash knob gives CrashLoopBackOff; <c>RAMCOIN_IGNORE_SIGTERM</c> makes a
/// pod take its grace period; <c>ramcoin check healthchecks</c> and <c>rollout</c> fail before the lesson and pass
/// after it. And Jenkins' least privilege, asked of the API server's own authorizer.
/// </summary>
[Collection(nameof(RealEngine))]
public sealed class LessonTests(DockerEngine engine, KubernetesCluster cluster)
{
    private const string Token = "cluster-teacher-token-0123456789";

    [Fact]
    public async Task HealthCheckKnobsDoOnTheClusterWhatTheLessonsSay()
    {
        await cluster.StartAsync(engine);
        Process? forward = null;
        try
        {
            await cluster.DeleteNamespaceAsync("ramcoin");
            await cluster.PipelineAsync("secret", ClusterSteps.Overlay("classic"));
            await cluster.KubectlAsync("-n", "ramcoin", "create", "secret", "generic", "ramcoin-admin", $"--from-literal=RAMCOIN_ADMIN_TOKEN={Token}");
            await cluster.PipelineAsync("deploy", ClusterSteps.Overlay("classic"));
            await cluster.PipelineAsync("wait", ClusterSteps.Overlay("classic"));
            await cluster.KubectlAsync("-n", "ramcoin", "scale", "deployment", "rng", "--replicas=2");
            await cluster.KubectlAsync("-n", "ramcoin", "rollout", "status", "deployment/rng", "--timeout=180s");
            await Eventually.TrueAsync(async () => (await EndpointsAsync()).Length == 2, "both rng pods serve", 60);
            await Eventually.TrueAsync(async () => await KubernetesCluster.HashesAsync(ClusterSteps.WebUIUrl) > 0, "the web UI shows hashes", 90);
            Assert.Equal(1, (await ClusterSteps.CheckAsync("healthchecks")).ExitCode);

            // One rng pod made unready through its own admin API (port-forward: the Service will not reach it).
            var pod = (await cluster.KubectlAsync("-n", "ramcoin", "get", "pods", "-l", "app=rng", "-o", "jsonpath={.items[0].metadata.name}")).Trim();
            var port = FreePort.Next();
            forward = Process.Start(new ProcessStartInfo("kubectl", ["-n", "ramcoin", "port-forward", $"pod/{pod}", $"{port}:80"])
            {
                Environment = { ["KUBECONFIG"] = cluster.Kubeconfig },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            await Eventually.TrueAsync(async () => await PutAsync(http, "true"), "the forced-unready knob is set on one rng pod", 30);
            await Eventually.TrueAsync(async () => (await EndpointsAsync()).Length == 1, "the unready pod leaves the Service's endpoints", 60);
            Assert.Equal("0", (await cluster.KubectlAsync("-n", "ramcoin", "get", "pod", pod, "-o", "jsonpath={.status.containerStatuses[0].restartCount}")).Trim());
            await Task.Delay(TimeSpan.FromSeconds(8), Ct);
            await Eventually.TrueAsync(async () => await PutAsync(http, "false"), "the knob is set back", 30);
            await Eventually.TrueAsync(async () => (await EndpointsAsync()).Length == 2, "it comes back into the endpoints", 60);
            await Eventually.TrueAsync(async () => (await ClusterSteps.CheckAsync("healthchecks")).ExitCode == 0, "ramcoin check healthchecks passes", 90);

            // A rolling update of the workers to a new version: ramcoin check rollout fails before it, passes after it.
            Assert.Equal(1, (await ClusterSteps.CheckAsync("rollout")).ExitCode);
            await cluster.KubectlAsync("-n", "ramcoin", "set", "env", "deployment/worker", "RAMCOIN_VERSION=0.2.0");
            await cluster.KubectlAsync("-n", "ramcoin", "rollout", "status", "deployment/worker", "--timeout=180s");
            await Eventually.TrueAsync(async () => (await ClusterSteps.CheckAsync("rollout")).ExitCode == 0, "ramcoin check rollout passes", 90);

            // The grace period: a pod that ignores SIGTERM takes it (8 s here); without the knob it stops at once.
            await cluster.KubectlAsync("-n", "ramcoin", "scale", "deployment", "rng", "--replicas=1");
            await cluster.KubectlAsync("-n", "ramcoin", "patch", "deployment", "rng", "-p", "{\"spec\":{\"template\":{\"spec\":{\"terminationGracePeriodSeconds\":8}}}}");
            await cluster.KubectlAsync("-n", "ramcoin", "set", "env", "deployment/rng", "RAMCOIN_IGNORE_SIGTERM=true");
            await cluster.KubectlAsync("-n", "ramcoin", "rollout", "status", "deployment/rng", "--timeout=180s");
            var (ignoring, ignoringLog) = await TimeDeleteAsync();
            await cluster.KubectlAsync("-n", "ramcoin", "set", "env", "deployment/rng", "RAMCOIN_IGNORE_SIGTERM-");
            await cluster.KubectlAsync("-n", "ramcoin", "rollout", "status", "deployment/rng", "--timeout=180s");
            var (stopping, stoppingLog) = await TimeDeleteAsync();
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"cluster: rng's container ran {ignoring.TotalSeconds:F1} s after kubectl delete pod while ignoring SIGTERM (grace period 8 s), {stopping.TotalSeconds:F1} s without the knob"));
            // SIGKILL comes at the end of the grace period; a container that stops on SIGTERM goes well before it.
            Assert.True(ignoring >= TimeSpan.FromSeconds(7.5), $"the container that ignores SIGTERM ran {ignoring.TotalSeconds:F1} s after the delete");
            Assert.True(stopping + TimeSpan.FromSeconds(3) < ignoring, $"the container ran {stopping.TotalSeconds:F1} s after the delete, the one that ignored SIGTERM {ignoring.TotalSeconds:F1} s");
            Assert.Contains("SIGTERM ignored", ignoringLog, StringComparison.Ordinal);
            Assert.DoesNotContain("SIGTERM ignored", stoppingLog, StringComparison.Ordinal);

            // The crash knob: exit code 3 each time, then CrashLoopBackOff.
            await cluster.KubectlAsync("-n", "ramcoin", "scale", "deployment", "worker", "--replicas=1");
            await cluster.KubectlAsync("-n", "ramcoin", "set", "env", "deployment/worker", "RAMCOIN_CRASH_AFTER_S=2");
            await Eventually.TrueAsync(
                async () => (await cluster.KubectlAsync("-n", "ramcoin", "get", "pods", "-l", "app=worker", "-o", "jsonpath={range .items[*]}{.status.containerStatuses[0].state.waiting.reason}/{.status.containerStatuses[0].lastState.terminated.exitCode}{\"\\n\"}{end}"))
                    .Contains("CrashLoopBackOff/3", StringComparison.Ordinal),
                "a worker pod in CrashLoopBackOff after exit code 3",
                120);
        }
        finally
        {
            if (forward is not null)
            {
                forward.Kill();
                forward.Dispose();
            }

            await cluster.DeleteNamespaceAsync("ramcoin");
        }
    }

    [Fact]
    public async Task JenkinsAgentsMayApplyTheClassicOverlayAndNothingMoreByTheApiServersOwnAuthorizer()
    {
        await cluster.StartAsync(engine);
        const string Agent = "system:serviceaccount:jenkins:jenkins-agent";
        const string Controller = "system:serviceaccount:jenkins:jenkins";
        try
        {
            await cluster.DeleteNamespaceAsync("ramcoin");
            await cluster.KubectlAsync("create", "namespace", "ramcoin");
            // The RBAC of deploy/jenkins only: its workloads need images that are not here.
            var rbac = string.Join("\n---\n", Repo.Read("deploy/jenkins/rbac.yaml").Split("\n---\n").Where(d => !d.Contains("kind: Namespace", StringComparison.Ordinal)));
            await cluster.KubectlAsync("create", "namespace", "jenkins");
            var file = Path.Combine(Path.GetTempPath(), $"ramcoin-rbac-{Guid.NewGuid():N}.yaml");
            await File.WriteAllTextAsync(file, rbac, Ct);
            await cluster.KubectlAsync("apply", "-f", file);
            File.Delete(file);

            // Everything the classic overlay holds but its Namespace, applied as the agents (server-side dry run).
            var rendered = await cluster.TryPipelineAsync("render", ClusterSteps.Overlay("classic", "registry"));
            Assert.True(rendered.ExitCode == 0, rendered.Describe());
            var objects = Path.Combine(Path.GetTempPath(), $"ramcoin-objects-{Guid.NewGuid():N}.yaml");
            await File.WriteAllTextAsync(objects, string.Join("\n---\n", rendered.Output.Split("\n---\n").Where(d => !d.Contains("kind: Namespace", StringComparison.Ordinal))), Ct);
            var applied = await cluster.TryKubectlAsync("--as", Agent, "apply", "--dry-run=server", "-f", objects);
            File.Delete(objects);
            Assert.True(applied.ExitCode == 0, "the agents may apply the classic overlay: " + applied.Describe());

            foreach (var (user, ns, verb, resource, allowed) in new[]
            {
                (Agent, "ramcoin", "patch", "deployments.apps", true), (Agent, "ramcoin", "create", "services", true),
                (Agent, "ramcoin", "list", "replicasets.apps", true), (Agent, "ramcoin", "list", "pods", true),
                (Agent, "", "get", "namespaces/ramcoin", true), (Agent, "", "patch", "namespaces/ramcoin", false),
                (Agent, "ramcoin", "create", "pods", false), (Agent, "ramcoin", "create", "pods/exec", false),
                (Agent, "ramcoin", "get", "secrets", false), (Agent, "ramcoin", "list", "secrets", false),
                (Agent, "ramcoin", "create", "secrets", false), (Agent, "ramcoin", "create", "replicasets.apps", false),
                (Agent, "ramcoin", "create", "serviceaccounts", false), (Agent, "ramcoin", "create", "rolebindings.rbac.authorization.k8s.io", false),
                (Agent, "jenkins", "create", "pods", false), (Agent, "jenkins", "get", "secrets", false),
                (Agent, "kube-system", "patch", "deployments.apps", false),
                (Controller, "jenkins", "create", "pods", true), (Controller, "jenkins", "create", "pods/exec", true),
                (Controller, "ramcoin", "patch", "deployments.apps", false), (Controller, "kube-system", "patch", "deployments.apps", false),
            })
            {
                // "pods/exec" is a subresource; "namespace/ramcoin" one object.
                var args = resource == "pods/exec"
                    ? new List<string> { "auth", "can-i", verb, "pods", "--subresource=exec", "--as", user }
                    : new List<string> { "auth", "can-i", verb, resource, "--as", user };
                if (ns.Length > 0)
                {
                    args.AddRange(["-n", ns]);
                }

                var answer = await cluster.TryKubectlAsync([.. args]);
                Assert.True(answer.Output.Trim() == (allowed ? "yes" : "no"), $"{user} {verb} {resource} in '{ns}': the API server says {answer.Output.Trim()} {answer.Error.Trim()}");
            }
        }
        finally
        {
            await cluster.DeleteNamespaceAsync("ramcoin");
            await cluster.DeleteNamespaceAsync("jenkins");
            await cluster.TryKubectlAsync("delete", "clusterrole,clusterrolebinding", "jenkins-ramcoin-namespace", "--ignore-not-found");
        }
    }

    private async Task<string[]> EndpointsAsync() =>
        (await cluster.KubectlAsync("-n", "ramcoin", "get", "endpoints", "rng", "-o", "jsonpath={.subsets[*].addresses[*].ip}")).Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static async Task<bool> PutAsync(HttpClient http, string unready)
    {
        try
        {
            using var response = await http.PutAsync("/admin/knobs", new StringContent($"{{\"RAMCOIN_FORCE_UNREADY\": {unready}}}", System.Text.Encoding.UTF8, "application/json"), Ct);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Deletes the one rng pod: how long its container ran after the delete, and everything it logged. Timed by the
    /// end of <c>kubectl logs -f</c>, which ends when the container does: the pod object itself goes only at the
    /// kubelet's next sync, in steps of about 10 s here, which hide a grace period of 8 s.
    /// </summary>
    private async Task<(TimeSpan Elapsed, string Log)> TimeDeleteAsync()
    {
        // The rollout's old pods first go (a terminating pod still says Running).
        var pods = Array.Empty<string>();
        await Eventually.TrueAsync(
            async () => (pods = (await cluster.KubectlAsync("-n", "ramcoin", "get", "pods", "-l", "app=rng", "-o", "name")).Split('\n', StringSplitOptions.RemoveEmptyEntries)).Length == 1,
            "one rng pod is left",
            120);
        var pod = pods[0]["pod/".Length..];
        var following = cluster.TryKubectlAsync("-n", "ramcoin", "logs", "-f", pod);
        await Eventually.TrueAsync(async () => (await cluster.KubectlAsync("-n", "ramcoin", "logs", pod)).Contains("Now listening", StringComparison.Ordinal), $"{pod} has started", 60);
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        var clock = Stopwatch.StartNew();
        await cluster.KubectlAsync("-n", "ramcoin", "delete", "pod", pod, "--wait=false");
        var log = (await following).Output;
        var elapsed = clock.Elapsed;
        await Eventually.TrueAsync(async () => (await cluster.TryKubectlAsync("-n", "ramcoin", "get", "pod", pod)).ExitCode != 0, $"{pod} is gone", 120);
        await cluster.KubectlAsync("-n", "ramcoin", "rollout", "status", "deployment/rng", "--timeout=180s");
        return (elapsed, log);
    }
}
