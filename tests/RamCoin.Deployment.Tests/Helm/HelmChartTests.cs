using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using RamCoin.Tests.Kubernetes;
using YamlDotNet.RepresentationModel;

namespace RamCoin.Tests.Helm;

/// <summary>
/// The chart offline, with the real helm: <c>helm lint --strict</c> and <c>helm template</c> of the defaults and of each
/// toggle (rendered objects parsed strictly, as the API server would), the schema's refusals, and no drift from the
/// kustomize overlays: the same objects, field by field, but for the image names and Helm's own labels.
/// </summary>
public sealed class HelmChartTests
{
    /// <summary>Each toggle, the kustomize component it stands for (none: a value with no component), and a check of its render.</summary>
    public static TheoryData<string> Toggles() =>
    [
        "",
        "profile=fast",
        "rng.kind=DaemonSet",
        "worker.autoscaling.enabled=true",
        "podDisruptionBudgets.enabled=true",
        "networkPolicies.enabled=true",
        "registry.enabled=true",
        "prometheusScrape.enabled=true",
        "service.type=ClusterIP",
        "store.existingSecret=my-store",
        "image.registry=127.0.0.1:30000,image.tag=v2,webui.image.tag=v3",
        "profile=fast,rng.kind=DaemonSet,worker.autoscaling.enabled=true,podDisruptionBudgets.enabled=true,networkPolicies.enabled=true,registry.enabled=true,prometheusScrape.enabled=true",
    ];

    [Theory]
    [MemberData(nameof(Toggles))]
    public async Task LintStrictPassesAndTheRenderHoldsWhatTheToggleAsks(string set)
    {
        string[] values = set.Length == 0 ? [] : ["--set", set];
        var lint = await HelmTool.TryRunAsync(["lint", "--strict", HelmTool.Chart, .. values]);
        Assert.True(lint.ExitCode == 0, "helm lint --strict: " + lint.Describe());
        Assert.Contains("0 chart(s) failed", lint.Output, StringComparison.Ordinal);

        var objects = await RenderAsync(set);
        var deployments = objects.OfType<V1Deployment>().ToDictionary(d => d.Metadata.Name);
        var chosen = set.Split(',', StringSplitOptions.RemoveEmptyEntries).ToDictionary(s => s.Split('=')[0], s => s.Split('=')[1]);
        string? Chosen(string key) => chosen.GetValueOrDefault(key);

        Assert.Equal(Chosen("profile") ?? "classic", objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "config").Data["RAMCOIN_PROFILE"]);
        var daemonSet = Chosen("rng.kind") == "DaemonSet";
        Assert.Equal(daemonSet, objects.OfType<V1DaemonSet>().Any(d => d.Metadata.Name == "rng"));
        Assert.Equal(!daemonSet, deployments.ContainsKey("rng"));
        var fast = Chosen("profile") == "fast";
        Assert.Equal(fast ? 2 : 1, deployments["hasher"].Spec.Replicas);
        var autoscaled = Chosen("worker.autoscaling.enabled") == "true";
        Assert.Equal(autoscaled ? null : fast ? 2 : 1, deployments["worker"].Spec.Replicas);
        Assert.Equal(autoscaled, objects.OfType<V2HorizontalPodAutoscaler>().Any(h => h.Metadata.Name == "worker"));
        Assert.Equal(Chosen("podDisruptionBudgets.enabled") == "true" ? 4 : 0, objects.OfType<V1PodDisruptionBudget>().Count());
        Assert.Equal(Chosen("networkPolicies.enabled") == "true" ? 9 : 0, objects.OfType<V1NetworkPolicy>().Count());
        Assert.Equal(Chosen("registry.enabled") == "true", deployments.ContainsKey("registry"));

        var type = Chosen("service.type") ?? "NodePort";
        var webui = objects.OfType<V1Service>().Single(s => s.Metadata.Name == "webui");
        Assert.Equal(type, webui.Spec.Type);
        Assert.Equal(type == "NodePort" ? 30080 : null, webui.Spec.Ports.Single().NodePort);

        var secret = Chosen("store.existingSecret") ?? "ramcoin-store";
        Assert.Equal(secret == "ramcoin-store", objects.OfType<V1Secret>().Any(s => s.Metadata.Name == "ramcoin-store"));
        foreach (var name in new[] { "worker", "webui", "redis" })
        {
            Assert.Equal(secret, deployments[name].Spec.Template.Spec.Containers[0].Env.Single(e => e.Name == "REDIS_PASSWORD").ValueFrom.SecretKeyRef.Name);
        }

        var scraped = Chosen("prometheusScrape.enabled") == "true";
        foreach (var template in objects.Workloads().Where(w => w.App is "rng" or "hasher" or "worker" or "webui").Select(w => w.Template))
        {
            Assert.Equal(scraped, template.Metadata.Annotations?.ContainsKey("prometheus.io/scrape") == true);
            var registry = Chosen("image.registry") ?? "ghcr.io/ramcoin/ramcoin";
            var tag = template.Metadata.Labels["app"] == "webui" ? Chosen("webui.image.tag") ?? Chosen("image.tag") ?? "0.1.0" : Chosen("image.tag") ?? "0.1.0";
            Assert.Equal($"{registry}/{template.Metadata.Labels["app"]}:{tag}", template.Spec.Containers[0].Image);
        }
    }

    /// <summary>Each bad value, and the words of helm's refusal that name it.</summary>
    public static TheoryData<string, string> BadValues() => new()
    {
        { "colour=blue", "additional properties 'colour' not allowed" },
        { "worker.replica=3", "at '/worker': additional properties 'replica' not allowed" },
        { "worker.replicas=many", "at '/worker/replicas': got string, want null or integer" },
        { "hasher.replicas=-1", "at '/hasher/replicas'" },
        { "profile=turbo", "at '/profile': value must be one of 'classic', 'fast'" },
        { "rng.kind=StatefulSet", "at '/rng/kind': value must be one of 'Deployment', 'DaemonSet'" },
        { "service.type=LoadBalancer", "at '/service/type': value must be one of 'NodePort', 'ClusterIP'" },
        { "webui.nodePort=80", "at '/webui/nodePort': minimum: got 80, want 30,000" },
        { "networkPolicies.enabled=yes", "at '/networkPolicies/enabled': got string, want boolean" },
        { "image.tag=v2;rm -rf", "at '/image/tag'" },
        { "store.persistence.size=lots", "at '/store/persistence/size'" },
        { "worker.resources.limits.memory=a lot", "at '/worker/resources/limits/memory'" },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public async Task TheSchemaRefusesABadValueNamingIt(string set, string message)
    {
        var template = await HelmTool.TryRunAsync(["template", "ramcoin", HelmTool.Chart, "--set", set]);
        Assert.True(template.ExitCode == 1, $"helm template --set {set}: {template.Describe()}");
        Assert.Contains("values don't meet the specifications of the schema", template.Error, StringComparison.Ordinal);
        Assert.Contains(message, template.Error, StringComparison.Ordinal);
        Assert.Empty(template.Output);
    }

    /// <summary>Each kustomize overlay and component, and the values that ask the chart for the same.</summary>
    public static TheoryData<string, string, string> Equivalents() => new()
    {
        { "classic", "", "" },
        { "fast", "", "profile=fast" },
        { "classic", "rng-daemonset", "rng.kind=DaemonSet" },
        { "classic", "worker-hpa", "worker.autoscaling.enabled=true" },
        { "classic", "network-policies", "networkPolicies.enabled=true" },
        { "classic", "pod-disruption-budgets", "podDisruptionBudgets.enabled=true" },
        { "classic", "registry", "registry.enabled=true" },
        { "fast", "prometheus-scrape", "profile=fast,prometheusScrape.enabled=true" },
        { "fast", "rng-daemonset,prometheus-scrape", "profile=fast,rng.kind=DaemonSet,prometheusScrape.enabled=true" },
    };

    /// <summary>
    /// The chart and the kustomize files do not drift: every object of the overlay is in the chart's render, field for
    /// field (workloads, Services, ports, probes, securityContexts, resources, labels, policies), and the chart has nothing
    /// more than its Secret. Left out of the comparison, and only these: the images' names (the overlay's placeholder
    /// registry and tag against the chart's), imagePullPolicy, the namespace (the chart's is the release's), Helm's
    /// own labels, and the pods' config checksum.
    /// </summary>
    [Theory]
    [MemberData(nameof(Equivalents))]
    public async Task TheChartAndTheKustomizeOverlayHoldTheSameObjects(string overlay, string components, string set)
    {
        var kustomize = Index(await Manifests.RenderAsync(overlay, components.Split(',', StringSplitOptions.RemoveEmptyEntries)));
        var chart = Index(await RenderAsync(set));

        Assert.True(kustomize.Remove("Namespace/ramcoin"), "the overlay makes the namespace (the chart installs into the release's)");
        Assert.True(chart.Remove("Secret/ramcoin-store"), "the chart makes the store's Secret (kustomize: pipeline.sh secret)");
        Assert.Equal(kustomize.Keys.Order(), chart.Keys.Order());
        foreach (var (key, expected) in kustomize)
        {
            Assert.True(JsonNode.DeepEquals(expected, chart[key]), $"{key} drifted:\nkustomize: {expected.ToJsonString()}\nchart:     {chart[key].ToJsonString()}");
        }
    }

    /// <summary>
    /// The chart README's values table lists every value of values.yaml with its default, in order; the Helm section of
    /// docs/kubernetes.md lists some of them, each row as in the chart's table.
    /// </summary>
    [Fact]
    public void TheValuesTablesMatchValuesYaml()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(Repo.Read("deploy/helm/ramcoin/values.yaml")));
        var expected = new List<(string Key, string Default)>();
        Flatten((YamlMappingNode)yaml.Documents[0].RootNode, "", expected);

        var chartRows = TableRows(Repo.Read("deploy/helm/ramcoin/README.md"));
        Assert.Equal(expected.Select(e => e.Key), chartRows.Select(r => r.Key));
        Assert.All(chartRows.Zip(expected), pair => Assert.True(pair.First.Default == pair.Second.Default, $"{pair.First.Key}: the table says {pair.First.Default}, values.yaml {pair.Second.Default}"));

        var guide = Repo.Read("docs/kubernetes.md");
        var start = guide.IndexOf("\n## Helm\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/kubernetes.md has a Helm section");
        var end = guide.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var guideRows = TableRows(guide[start..(end < 0 ? guide.Length : end)]);
        Assert.True(guideRows.Count >= 10, $"{guideRows.Count} rows in the Helm table of docs/kubernetes.md");
        var full = chartRows.ToDictionary(r => r.Key, r => r.Line);
        Assert.All(guideRows, r => Assert.Equal(full.GetValueOrDefault(r.Key), r.Line));
    }

    private static void Flatten(YamlMappingNode node, string prefix, List<(string, string)> leaves)
    {
        foreach (var (key, value) in node.Children)
        {
            var name = prefix + ((YamlScalarNode)key).Value;
            if (value is YamlMappingNode map && ((YamlScalarNode)key).Value == "resources")
            {
                string Part(string group, string what) => ((YamlScalarNode)((YamlMappingNode)map[group])[what]).Value!;
                leaves.Add((name, $"{Part("requests", "cpu")}/{Part("requests", "memory")} requests, {Part("limits", "cpu")}/{Part("limits", "memory")} limits"));
            }
            else if (value is YamlMappingNode child)
            {
                Flatten(child, name + ".", leaves);
            }
            else
            {
                var scalar = (YamlScalarNode)value;
                leaves.Add((name, scalar.Value is "" ? "\"\"" : scalar.Value is "null" or "~" ? "null" : scalar.Value!));
            }
        }
    }

    private static List<(string Key, string Default, string Line)> TableRows(string markdown) =>
        [.. markdown.Split('\n').Select(line => (Line: line, Match: Regex.Match(line, @"^\| `([\w.]+)` \| `([^`]*)` \| .+ \|$")))
            .Where(r => r.Match.Success)
            .Select(r => (r.Match.Groups[1].Value, r.Match.Groups[2].Value, r.Line))];

    /// <summary><c>helm template</c> with some values, the test hook left out, parsed strictly.</summary>
    public static async Task<IReadOnlyList<object>> RenderAsync(string set)
    {
        string[] values = set.Length == 0 ? [] : ["--set", set];
        var output = await HelmTool.RunAsync(["template", "ramcoin", HelmTool.Chart, "--namespace", "ramcoin", "--skip-tests", .. values]);
        return KubernetesYaml.LoadAllFromString(output, strict: true);
    }

    private static readonly string[] HelmLabels = ["app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "helm.sh/chart"];

    /// <summary>Objects by kind/name, as JSON, with what may differ taken out.</summary>
    private static Dictionary<string, JsonNode> Index(IEnumerable<object> objects)
    {
        var index = new Dictionary<string, JsonNode>();
        foreach (var item in objects)
        {
            var node = JsonNode.Parse(KubernetesJson.Serialize(item))!;
            var metadata = node["metadata"]!.AsObject();
            metadata.Remove("namespace");
            metadata.Remove("annotations");
            if (metadata["labels"] is JsonObject labels)
            {
                foreach (var label in HelmLabels)
                {
                    labels.Remove(label);
                }
            }

            if (node["spec"]?["template"] is JsonObject template)
            {
                if (template["metadata"]?["annotations"] is JsonObject annotations)
                {
                    annotations.Remove("checksum/config");
                    if (annotations.Count == 0)
                    {
                        template["metadata"]!.AsObject().Remove("annotations");
                    }
                }

                foreach (var container in template["spec"]!["containers"]!.AsArray())
                {
                    container!.AsObject().Remove("image");
                    container.AsObject().Remove("imagePullPolicy");
                }
            }

            index.Add($"{node["kind"]}/{metadata["name"]}", node);
        }

        return index;
    }
}
