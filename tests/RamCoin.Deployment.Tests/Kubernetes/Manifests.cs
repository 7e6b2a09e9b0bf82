using k8s;
using k8s.Models;
using YamlDotNet.RepresentationModel;

namespace RamCoin.Tests.Kubernetes;

/// <summary>
/// Renders kustomizations with <c>kubectl kustomize</c> (offline) and parses the output with KubernetesClient in
/// strict mode: an unknown field or a wrong type fails the test, as the API server would refuse it.
/// </summary>
public static class Manifests
{
    public const string Root = "deploy/kubernetes";

    /// <summary>The components, in the order an overlay lists them (rng-daemonset before prometheus-scrape, which annotates it).</summary>
    public static readonly string[] Components = ["rng-daemonset", "worker-hpa", "network-policies", "pod-disruption-budgets", "registry", "prometheus-scrape"];

    public static readonly string[] Overlays = ["classic", "fast"];

    /// <summary>The services built from this repository, each with an image of its own (the store runs redis's).</summary>
    public static readonly string[] Services = ["rng", "hasher", "worker", "webui"];

    /// <summary>Each of <see cref="Services"/> in rendered objects, with the one image its workload runs.</summary>
    public static Dictionary<string, string> Images(IEnumerable<object> objects) =>
        objects.Workloads().Where(w => Services.Contains(w.App)).ToDictionary(w => w.App, w => Assert.Single(w.Containers).Image);

    public static async Task<IReadOnlyList<object>> RenderAsync(string directory)
    {
        var kubectl = Repo.RequireToolWithHint("kubectl", "install kubectl (https://kubernetes.io/docs/tasks/tools/); its built-in kustomize renders offline");
        var result = await Repo.RunAsync(kubectl, ["kustomize", directory], timeoutSeconds: 60);
        Assert.True(result.ExitCode == 0, $"kubectl kustomize {directory}: {result.Describe()}");
        return KubernetesYaml.LoadAllFromString(result.Output, strict: true);
    }

    /// <summary>
    /// An overlay with some components enabled, as a user enables them: the overlay's kustomization with its
    /// components list set, written to a temporary folder (paths made relative to it) and rendered.
    /// </summary>
    public static async Task<IReadOnlyList<object>> RenderAsync(string overlay, IEnumerable<string> components, Action<YamlMappingNode>? edit = null)
    {
        var source = Repo.PathOf($"{Root}/overlays/{overlay}");
        var folder = Directory.CreateTempSubdirectory("ramcoin-kustomize-");
        try
        {
            var yaml = new YamlStream();
            using (var reader = new StreamReader(Path.Combine(source, "kustomization.yaml")))
            {
                yaml.Load(reader);
            }

            var root = (YamlMappingNode)yaml.Documents[0].RootNode;
            string Relative(string path) => Path.GetRelativePath(folder.FullName, Path.GetFullPath(Path.Combine(source, path)));
            var resources = ((YamlSequenceNode)root["resources"]).Select(r => Relative(((YamlScalarNode)r).Value!)).ToList();
            root.Children[new YamlScalarNode("resources")] = new YamlSequenceNode(resources.Select(r => new YamlScalarNode(r)));
            root.Children[new YamlScalarNode("components")] = new YamlSequenceNode(
                components.Select(c => new YamlScalarNode(Path.GetRelativePath(folder.FullName, Repo.PathOf($"{Root}/components/{c}")))));
            edit?.Invoke(root);
            using (var writer = new StreamWriter(Path.Combine(folder.FullName, "kustomization.yaml")))
            {
                yaml.Save(writer, assignAnchors: false);
            }

            return await RenderAsync(folder.FullName);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>Deployments and DaemonSets: what runs pods.</summary>
    public static IEnumerable<Workload> Workloads(this IEnumerable<object> objects) =>
        objects.Select(o => o switch
        {
            V1Deployment d => new Workload("Deployment", d.Metadata.Name, d.Metadata.NamespaceProperty, d.Spec.Selector, d.Spec.Template),
            V1DaemonSet d => new Workload("DaemonSet", d.Metadata.Name, d.Metadata.NamespaceProperty, d.Spec.Selector, d.Spec.Template),
            V1StatefulSet d => new Workload("StatefulSet", d.Metadata.Name, d.Metadata.NamespaceProperty, d.Spec.Selector, d.Spec.Template),
            _ => null,
        }).OfType<Workload>();

    public static bool Matches(this V1LabelSelector? selector, IDictionary<string, string>? labels)
    {
        if (selector is null)
        {
            return true;
        }

        labels ??= new Dictionary<string, string>();
        var matchLabels = selector.MatchLabels ?? new Dictionary<string, string>();
        if (matchLabels.Any(l => !labels.TryGetValue(l.Key, out var v) || v != l.Value))
        {
            return false;
        }

        return (selector.MatchExpressions ?? []).All(e => e.OperatorProperty switch
        {
            "In" => labels.TryGetValue(e.Key, out var v) && e.Values.Contains(v),
            "NotIn" => !labels.TryGetValue(e.Key, out var v) || !e.Values.Contains(v),
            "Exists" => labels.ContainsKey(e.Key),
            "DoesNotExist" => !labels.ContainsKey(e.Key),
            _ => throw new InvalidOperationException($"unknown selector operator {e.OperatorProperty}"),
        });
    }

    public static bool Matches(this IDictionary<string, string>? selector, IDictionary<string, string>? labels) =>
        selector is { Count: > 0 } && selector.All(s => labels is not null && labels.TryGetValue(s.Key, out var v) && v == s.Value);
}

public sealed record Workload(string Kind, string Name, string? Namespace, V1LabelSelector Selector, V1PodTemplateSpec Template)
{
    public IDictionary<string, string> Labels => Template.Metadata?.Labels ?? new Dictionary<string, string>();

    public string App => Labels.TryGetValue("app", out var app) ? app : "";

    public IEnumerable<V1Container> Containers => Template.Spec.Containers;

    /// <summary>A Service's or probe's port (number or name) resolved against the containers' ports.</summary>
    public int? ResolvePort(IntOrString port)
    {
        var ports = Containers.SelectMany(c => c.Ports ?? []).ToList();
        return int.TryParse(port.Value, out var number)
            ? ports.Any(p => p.ContainerPort == number) ? number : null
            : ports.FirstOrDefault(p => p.Name == port.Value)?.ContainerPort;
    }
}
