using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using RamCoin.Tests.Containers;
using YamlDotNet.RepresentationModel;

namespace RamCoin.Tests.Kubernetes;

/// <summary>
/// Every overlay with every combination of components, rendered and parsed strictly, then held to the invariants
/// a cluster relies on: selectors, ports, probes, resources, security, NodePorts, images, network flows.
/// </summary>
public sealed class KubernetesTests
{
    private const string Namespace = "ramcoin";
    private const string OverlayRegistry = "ghcr.io/ramcoin/ramcoin";
    private const string StoreSecret = "ramcoin-store";

    /// <summary>Each overlay with each subset of the components (2 × 64 renders).</summary>
    public static TheoryData<string, string> Combinations()
    {
        var data = new TheoryData<string, string>();
        foreach (var overlay in Manifests.Overlays)
        {
            for (var mask = 0; mask < 1 << Manifests.Components.Length; mask++)
            {
                var chosen = Manifests.Components.Where((_, i) => (mask & (1 << i)) != 0);
                data.Add(overlay, string.Join(',', chosen) is { Length: > 0 } list ? list : "none");
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task EveryCombinationRendersStrictlyAndHoldsTheInvariants(string overlay, string components)
    {
        var chosen = components == "none" ? [] : components.Split(',');
        var objects = await Manifests.RenderAsync(overlay, chosen);

        CheckInvariants(objects, overlay, chosen);
    }

    [Theory]
    [InlineData("base")]
    [InlineData("overlays/classic")]
    [InlineData("overlays/fast")]
    [InlineData("overlays/all-components")]
    public async Task TheCommittedKustomizationsRenderAndHoldTheInvariants(string directory)
    {
        var objects = await Manifests.RenderAsync($"{Manifests.Root}/{directory}");

        var overlay = directory.Contains("classic", StringComparison.Ordinal) || directory == "base" ? "classic" : "fast";
        var components = directory == "overlays/all-components" ? Manifests.Components : [];
        CheckInvariants(objects, overlay, components, registry: directory == "base" ? "ramcoin" : OverlayRegistry);
        if (directory == "overlays/all-components")
        {
            Assert.Equal(Manifests.Components, ComponentsListedIn($"{Manifests.Root}/{directory}"));
        }
    }

    [Theory]
    [InlineData("classic", false)]
    [InlineData("fast", true)]
    public async Task SetImagePointsEveryServiceAtTheRegistryAndTag(string overlay, bool daemonSet)
    {
        // What `kustomize edit set image ramcoin/rng=registry.example:5000/rng:v2` writes into the overlay.
        var objects = await Manifests.RenderAsync(overlay, daemonSet ? ["rng-daemonset"] : [], root =>
            root.Children[new YamlScalarNode("images")] = new YamlSequenceNode(Manifests.Services.Select(s => new YamlMappingNode(
                new YamlScalarNode("name"), new YamlScalarNode($"ramcoin/{s}"),
                new YamlScalarNode("newName"), new YamlScalarNode($"registry.example:5000/{s}"),
                new YamlScalarNode("newTag"), new YamlScalarNode("v2")))));

        var images = Manifests.Images(objects);
        Assert.Equal(Manifests.Services.Order(), images.Keys.Order());
        Assert.All(images, i => Assert.Equal($"registry.example:5000/{i.Key}:v2", i.Value));
    }

    [Fact]
    public async Task NetworkPoliciesAllowExactlyTheSystemsArrows()
    {
        var objects = await Manifests.RenderAsync("classic", ["network-policies", "registry"]);
        var evaluator = new NetworkPolicyEvaluator([.. objects.OfType<V1NetworkPolicy>()]);
        var peers = Peers(objects);
        var allowed = new List<string>();
        foreach (var from in peers)
        {
            // Flows that touch the ramcoin namespace: other namespaces are their own policies' business.
            foreach (var to in peers.Where(p => p.IsPod && p != from && (p.Namespace == Namespace || from.Namespace == Namespace)))
            {
                foreach (var (port, protocol, _) in to.Ports)
                {
                    if (evaluator.Allows(from, to, port, protocol))
                    {
                        allowed.Add($"{from.Name} -> {to.Name}:{port}/{protocol}");
                    }
                }
            }
        }

        string[] expected =
        [
            // The web UI and the registry are open to everyone (other namespaces' pods like kube-dns too).
            "outside -> webui:80/TCP", "outside -> registry:5000/TCP", "kube-dns -> webui:80/TCP",
            "prometheus -> rng:80/TCP", "prometheus -> hasher:80/TCP", "prometheus -> worker:80/TCP", "prometheus -> webui:80/TCP",
            "prometheus -> registry:5000/TCP", "kube-dns -> registry:5000/TCP",
            // A pod elsewhere that calls itself Prometheus reaches only what is open to everyone.
            "prometheus-elsewhere -> webui:80/TCP", "prometheus-elsewhere -> registry:5000/TCP",
            "worker -> rng:80/TCP", "worker -> hasher:80/TCP", "worker -> redis:6379/TCP",
            "worker -> kube-dns:53/UDP", "worker -> kube-dns:53/TCP",
            "webui -> redis:6379/TCP", "webui -> worker:80/TCP", "webui -> rng:80/TCP", "webui -> hasher:80/TCP",
            "webui -> kube-dns:53/UDP", "webui -> kube-dns:53/TCP",
        ];
        Assert.True(expected.Order().SequenceEqual(allowed.Order()), "allowed flows:\n" + string.Join('\n', allowed));
        // The evaluator itself: without the policies, everything is open.
        Assert.True(new NetworkPolicyEvaluator([]).Allows(peers.Single(p => p.Name == "rng"), peers.Single(p => p.Name == "redis"), 6379));
    }

    [Fact]
    public async Task TheNetworkPolicyDemoWorksWithoutThePoliciesAndFailsWithThem()
    {
        var guide = Repo.Read($"{Manifests.Root}/README.md");
        var demo = Regex.Matches(guide, @"kubectl -n ramcoin exec deploy/(?<from>[a-z]+) -- (?<binary>/app/RamCoin\.\w+) healthcheck http://(?<to>[a-z]+)/healthz +# (?<says>works|fails)");
        Assert.Contains(demo, m => m.Groups["says"].Value == "works");
        Assert.Contains(demo, m => m.Groups["says"].Value == "fails");
        var objects = await Manifests.RenderAsync("classic", ["network-policies"]);
        var policies = new NetworkPolicyEvaluator([.. objects.OfType<V1NetworkPolicy>()]);
        var none = new NetworkPolicyEvaluator([]);
        var peers = Peers(objects);
        foreach (Match line in demo)
        {
            var (from, to, works) = (peers.Single(p => p.Name == line.Groups["from"].Value), peers.Single(p => p.Name == line.Groups["to"].Value), line.Groups["says"].Value == "works");
            // The command is the pod's own binary (an HTTP client: its healthcheck mode) against an HTTP service on
            // port 80, so only the network can make it fail (redis-cli against rng failed either way).
            Assert.Equal(DockerfileTests.EntryPoint(from.Name)[0], line.Groups["binary"].Value);
            Assert.Contains(to.Name, Manifests.Services);
            Assert.Equal(80, Assert.Single(objects.OfType<V1Service>().Single(s => s.Metadata.Name == to.Name).Spec.Ports).Port);
            Assert.True(none.Allows(from, to, 80), $"{line.Value}: works without the policies");
            Assert.True(works == policies.Allows(from, to, 80), $"{line.Value}: {(works ? "still works" : "fails")} with them");
            Assert.True(!works || policies.Allows(from, peers.Single(p => p.Name == "kube-dns"), 53, "UDP"), $"{from.Name} resolves names with the policies");
        }

        Assert.DoesNotContain("redis-cli -h rng", guide, StringComparison.Ordinal);
        // Where policies are not enforced at all, the demo would "work" twice: the guide says so and names one that does.
        Assert.Matches(new Regex(@"[Ff]lannel[^.]*does not enforce", RegexOptions.None, TimeSpan.FromSeconds(1)), guide);
        Assert.Contains("Calico", guide, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheStoreRefusesClientsWithoutThePasswordAndItsProbeAuthenticates()
    {
        Repo.RequireTool("redis-server", "redis-server");
        Repo.RequireTool("redis-cli", "redis-tools");
        var objects = await Manifests.RenderAsync("classic", []);
        var redis = Assert.Single(objects.Workloads().Single(w => w.App == "redis").Containers);
        Assert.Equal(["sh", "-c"], redis.Args.Take(2));
        var port = FreePort.Next();
        var data = Directory.CreateTempSubdirectory("ramcoin-redis-");
        // The container's own script and probe, with a scratch folder and a loopback port instead of /data and 6379.
        var script = redis.Args[2].Replace("/data", data.FullName, StringComparison.Ordinal)
            .Replace($"--dir {data.FullName}", $"--dir {data.FullName} --port {port} --bind 127.0.0.1", StringComparison.Ordinal);
        var probe = redis.ReadinessProbe.Exec.Command;
        Assert.Equal(["sh", "-c"], probe.Take(2));
        var probeScript = probe[2].Replace("redis-cli ping", $"redis-cli -p {port} ping", StringComparison.Ordinal);
        Assert.NotEqual(redis.Args[2], script);
        Assert.NotEqual(probe[2], probeScript);
        const string Password = "pa ss\"wo'rd$1";
        Process? server = null;
        try
        {
            // Without the Secret's value the store does not start at all.
            var empty = await Repo.RunAsync("sh", ["-c", script], new Dictionary<string, string?> { ["REDIS_PASSWORD"] = "" }, timeoutSeconds: 10);
            Assert.NotEqual(0, empty.ExitCode);
            Assert.Contains("REDIS_PASSWORD (Secret ramcoin-store) is empty", empty.Error, StringComparison.Ordinal);

            // A volume that the store's user cannot write (a hostPath volume ignores fsGroup): one line that says so.
            var locked = Directory.CreateTempSubdirectory("ramcoin-redis-locked-");
            try
            {
                var lockedScript = redis.Args[2].Replace("/data", locked.FullName, StringComparison.Ordinal);
                var refused = await Repo.RunAsync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", lockedScript], new Dictionary<string, string?> { ["REDIS_PASSWORD"] = Password }, timeoutSeconds: 10);
                Assert.Equal(1, refused.ExitCode);
                Assert.Contains($"{locked.FullName} (PersistentVolumeClaim redis-data) is not writable by UID 65534", refused.Error, StringComparison.Ordinal);
            }
            finally
            {
                locked.Delete();
            }

            var start = new ProcessStartInfo("sh", ["-c", script]) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.Environment["REDIS_PASSWORD"] = Password;
            server = Process.Start(start)!;
            server.OutputDataReceived += (_, _) => { };
            server.ErrorDataReceived += (_, _) => { };
            server.BeginOutputReadLine();
            server.BeginErrorReadLine();
            var env = new Dictionary<string, string?> { ["REDIS_PASSWORD"] = Password };
            await Eventually.TrueAsync(async () => (await Repo.RunAsync("sh", ["-c", probeScript], env, timeoutSeconds: 10)).ExitCode == 0, "the readiness probe passes with the Secret's password");

            var anonymous = await Repo.RunAsync("redis-cli", ["-p", $"{port}", "ping"], timeoutSeconds: 10);
            Assert.Contains("NOAUTH", anonymous.Output + anonymous.Error, StringComparison.Ordinal);
            Assert.NotEqual(0, (await Repo.RunAsync("sh", ["-c", probeScript], new Dictionary<string, string?> { ["REDIS_PASSWORD"] = "wrong" }, timeoutSeconds: 10)).ExitCode);
            // The password (any characters) is in no process' arguments: redis rewrites its title.
            Assert.DoesNotContain("wo'rd", File.ReadAllText($"/proc/{server.Id}/cmdline"), StringComparison.Ordinal);
        }
        finally
        {
            if (server is { HasExited: false })
            {
                server.Kill();
                await server.WaitForExitAsync(TestContext.Current.CancellationToken);
            }

            server?.Dispose();
            data.Delete(recursive: true);
        }
    }

    private static List<Peer> Peers(IReadOnlyList<object> objects)
    {
        var pods = objects.Workloads().Select(w => new Peer(
            w.App, w.Namespace, w.Labels, new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = w.Namespace! },
            [.. w.Containers.SelectMany(c => c.Ports ?? []).Select(p => (p.ContainerPort, p.Protocol ?? "TCP", (string?)p.Name))]));
        return
        [
            Peer.Outside,
            Peer.Pod("prometheus", "monitoring", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "prometheus" }),
            // Anyone who may create a pod may set any label: only the namespace monitoring makes it Prometheus.
            Peer.Pod("prometheus-elsewhere", "students", new Dictionary<string, string> { ["app.kubernetes.io/name"] = "prometheus" }),
            Peer.Pod("kube-dns", "kube-system", new Dictionary<string, string> { ["k8s-app"] = "kube-dns" }, (53, "UDP", "dns"), (53, "TCP", "dns-tcp")),
            .. pods,
        ];
    }

    private static void CheckInvariants(IReadOnlyList<object> objects, string overlay, IReadOnlyCollection<string> components, string registry = OverlayRegistry)
    {
        var workloads = objects.Workloads().ToList();
        Figures.Report($"kustomize {overlay} + [{string.Join(", ", components)}]: {objects.Count} objects ({string.Join(", ", objects.GroupBy(o => o.GetType().Name[2..]).Select(g => $"{g.Count()} {g.Key}"))})");

        // One namespace, and everything in it; Pod Security "restricted" enforced there, and every pod meets it.
        var ns = Assert.Single(objects.OfType<V1Namespace>(), n => n.Metadata.Name == Namespace);
        Assert.Equal("restricted", ns.Metadata.Labels["pod-security.kubernetes.io/enforce"]);
        Assert.All(workloads, w => Assert.Empty(PodSecurityEvaluator.Violations(w.Template.Spec, "restricted")));
        Assert.All(objects.OfType<IKubernetesObject<V1ObjectMeta>>().Where(o => o is not V1Namespace), o =>
            Assert.True(o.Metadata.NamespaceProperty == Namespace, $"{o.Kind} {o.Metadata.Name} is in namespace {o.Metadata.NamespaceProperty}"));

        // The system's parts, rng as a DaemonSet when chosen.
        IEnumerable<string> apps = [.. Manifests.Services, "redis", .. components.Contains("registry") ? ["registry"] : Array.Empty<string>()];
        Assert.Equal(apps.Order(), workloads.Select(w => w.App).Order());
        Assert.Equal(components.Contains("rng-daemonset") ? "DaemonSet" : "Deployment", workloads.Single(w => w.App == "rng").Kind);

        foreach (var workload in workloads)
        {
            Assert.True(workload.Selector.Matches(workload.Labels), $"{workload.Kind} {workload.Name}: its selector matches its pods");
            Assert.Equal(workload.Name, workload.App);
            var pod = workload.Template.Spec;
            foreach (var container in pod.Containers)
            {
                var where = $"{workload.Kind} {workload.Name}, container {container.Name}";
                Assert.True(container.LivenessProbe is not null && container.ReadinessProbe is not null, $"{where}: liveness and readiness probes");
                foreach (var probe in new List<V1Probe?> { container.LivenessProbe, container.ReadinessProbe, container.StartupProbe }.OfType<V1Probe>())
                {
                    var port = probe.HttpGet?.Port ?? probe.TcpSocket?.Port;
                    Assert.True(port is null || workload.ResolvePort(port) is not null, $"{where}: a probe's port {port?.Value} is a container port");
                }

                var requests = container.Resources?.Requests ?? new Dictionary<string, ResourceQuantity>();
                var limits = container.Resources?.Limits ?? new Dictionary<string, ResourceQuantity>();
                Assert.True(requests.ContainsKey("cpu") && requests.ContainsKey("memory"), $"{where}: cpu and memory requests");
                Assert.True(limits.ContainsKey("cpu") && limits.ContainsKey("memory"), $"{where}: cpu and memory limits");
                var security = container.SecurityContext;
                Assert.True(security?.AllowPrivilegeEscalation == false, $"{where}: allowPrivilegeEscalation false");
                Assert.True(security?.ReadOnlyRootFilesystem == true, $"{where}: read-only root file system");
                Assert.True(security?.Capabilities?.Drop?.Contains("ALL") == true, $"{where}: all capabilities dropped");
                Assert.True((security?.RunAsNonRoot ?? pod.SecurityContext?.RunAsNonRoot) == true, $"{where}: runAsNonRoot");
                Assert.True((security?.RunAsUser ?? pod.SecurityContext?.RunAsUser) is > 0, $"{where}: a numeric non-root user");
            }

            if (Manifests.Services.Contains(workload.App))
            {
                var container = Assert.Single(pod.Containers);
                Assert.Equal("/healthz", container.LivenessProbe!.HttpGet.Path);
                Assert.Equal("/readyz", container.ReadinessProbe!.HttpGet.Path);
                Assert.Equal(80, workload.ResolvePort("http"));
                Assert.Equal($"{registry}/{workload.App}:latest", container.Image);
                // Port 80 as a non-root user (the image's user, 1654): the binary's file capability needs
                // NET_BIND_SERVICE kept in the bounding set, and nothing else comes back.
                Assert.Equal(["NET_BIND_SERVICE"], container.SecurityContext.Capabilities.Add);
                Assert.Contains(pod.SecurityContext?.Sysctls ?? [], s => s.Name == "net.ipv4.ip_unprivileged_port_start" && s.Value == "0");
                Assert.Equal(1654, container.SecurityContext?.RunAsUser ?? pod.SecurityContext?.RunAsUser);
                Assert.False(pod.EnableServiceLinks ?? true, $"{workload.Name}: no Service links (REDIS_PORT=tcp://... would replace the setting)");
                Assert.Contains(container.EnvFrom, e => e.ConfigMapRef?.Name == "config");
                if (components.Contains("prometheus-scrape"))
                {
                    Assert.Equal("true", workload.Template.Metadata.Annotations["prometheus.io/scrape"]);
                    Assert.Equal("80", workload.Template.Metadata.Annotations["prometheus.io/port"]);
                }
            }
        }

        // The store's password: from the Secret ramcoin-store, which no render holds (it is made in the cluster, not
        // committed); the store and its two clients read it, and nothing else does.
        Assert.Empty(objects.OfType<V1Secret>());
        foreach (var workload in workloads)
        {
            var reads = workload.Containers.SelectMany(c => c.Env ?? []).Where(e => e.ValueFrom?.SecretKeyRef?.Name == StoreSecret).ToList();
            if (workload.App is "redis" or "worker" or "webui")
            {
                var password = Assert.Single(reads);
                Assert.Equal(("REDIS_PASSWORD", "REDIS_PASSWORD", false), (password.Name, password.ValueFrom.SecretKeyRef.Key, password.ValueFrom.SecretKeyRef.Optional ?? false));
            }
            else
            {
                Assert.True(reads.Count == 0, $"{workload.Name} does not read the store's password");
            }

            Assert.DoesNotContain(workload.Containers.SelectMany(c => c.EnvFrom ?? []), e => e.SecretRef?.Name == StoreSecret);
        }

        var redis = Assert.Single(workloads.Single(w => w.App == "redis").Containers);
        Assert.Contains("--requirepass \"$REDIS_PASSWORD\"", string.Join(' ', redis.Args), StringComparison.Ordinal);

        // The registry refuses deletes (RegistryTests runs the registry with these settings).
        if (components.Contains("registry"))
        {
            var env = Assert.Single(workloads.Single(w => w.App == "registry").Containers).Env;
            Assert.Equal("false", Assert.Single(env, e => e.Name == "REGISTRY_STORAGE_DELETE_ENABLED").Value);
        }

        // The worker gets time to flush its counts after SIGTERM.
        Assert.True(workloads.Single(w => w.App == "worker").Template.Spec.TerminationGracePeriodSeconds >= 15);

        // The profile.
        var config = objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "config");
        Assert.Equal(overlay, config.Data["RAMCOIN_PROFILE"]);

        // Services select exactly one workload's pods, and target ports its containers open.
        var services = objects.OfType<V1Service>().ToList();
        foreach (var service in services)
        {
            var target = Assert.Single(workloads, w => service.Spec.Selector.Matches(w.Labels));
            foreach (var port in service.Spec.Ports)
            {
                Assert.True(target.ResolvePort(port.TargetPort ?? port.Port) is not null, $"Service {service.Metadata.Name}: target port {port.TargetPort?.Value} is a container port");
            }
        }

        var expectedPorts = new Dictionary<string, int> { ["rng"] = 80, ["hasher"] = 80, ["worker"] = 80, ["webui"] = 80, ["redis"] = 6379, ["registry"] = 5000 };
        foreach (var service in services.Where(s => expectedPorts.ContainsKey(s.Metadata.Name)))
        {
            Assert.Equal(expectedPorts[service.Metadata.Name], Assert.Single(service.Spec.Ports).Port);
        }

        Assert.Contains(services, s => s.Metadata.Name == "redis");
        var nodePorts = services.SelectMany(s => s.Spec.Ports.Where(p => p.NodePort is not null).Select(p => $"{s.Metadata.Name}:{p.NodePort}")).Order().ToList();
        Assert.Equal(components.Contains("registry") ? ["registry:30000", "webui:30080"] : ["webui:30080"], nodePorts);

        // Volumes name claims that exist.
        var claims = objects.OfType<V1PersistentVolumeClaim>().Select(c => c.Metadata.Name).ToHashSet();
        Assert.All(workloads.SelectMany(w => w.Template.Spec.Volumes ?? []).Where(v => v.PersistentVolumeClaim is not null), v =>
            Assert.Contains(v.PersistentVolumeClaim.ClaimName, claims));

        // Autoscalers and disruption budgets point at what exists.
        foreach (var hpa in objects.OfType<V2HorizontalPodAutoscaler>())
        {
            Assert.Contains(workloads, w => w.Kind == hpa.Spec.ScaleTargetRef.Kind && w.Name == hpa.Spec.ScaleTargetRef.Name);
        }

        Assert.Equal(components.Contains("worker-hpa"), objects.OfType<V2HorizontalPodAutoscaler>().Any(h => h.Spec.ScaleTargetRef.Name == "worker"));
        foreach (var pdb in objects.OfType<V1PodDisruptionBudget>())
        {
            Assert.Single(workloads, w => pdb.Spec.Selector.Matches(w.Labels));
        }

        Assert.Equal(components.Contains("pod-disruption-budgets"), objects.OfType<V1PodDisruptionBudget>().Any());
        Assert.Equal(components.Contains("network-policies"), objects.OfType<V1NetworkPolicy>().Any());

        // Images: RamCoin's from the registry/service:tag scheme, the others pinned to a tag.
        Assert.All(workloads.SelectMany(w => w.Containers), c => Assert.Matches(new Regex(@"^[a-z0-9.:/-]+:[A-Za-z0-9._-]+$"), c.Image));
    }

    private static List<string> ComponentsListedIn(string directory)
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Repo.PathOf($"{directory}/kustomization.yaml"));
        yaml.Load(reader);
        return [.. ((YamlSequenceNode)((YamlMappingNode)yaml.Documents[0].RootNode)["components"]).Select(c => Path.GetFileName(((YamlScalarNode)c).Value!))];
    }
}
