using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using RamCoin.Tests.Containers;
using RamCoin.Tests.Infrastructure;

namespace RamCoin.Tests.Kubernetes;

/// <summary>Jenkins in the cluster, the pipelines and the CloudLab profile, checked offline.</summary>
public sealed class PipelineTests
{
    private static readonly string[] Services = ["rng", "hasher", "worker", "webui"];

    [Fact]
    public async Task JenkinsRendersAndMayApplyEverythingTheClassicOverlayHolds()
    {
        var jenkins = await Manifests.RenderAsync("deploy/jenkins");
        var ramcoin = await Manifests.RenderAsync("classic", ["registry"]);

        var account = Assert.Single(jenkins.OfType<V1ServiceAccount>(), a => a.Metadata.Name == "jenkins");
        var ui = Assert.Single(jenkins.OfType<V1Service>(), s => s.Spec.Type == "NodePort");
        Assert.Equal(30088, Assert.Single(ui.Spec.Ports).NodePort);
        Assert.Contains(jenkins.Workloads(), w => w.App == "jenkins");

        // kubectl apply needs get, create and patch on every kind it applies; the pipeline then watches rollouts.
        foreach (var obj in ramcoin.OfType<IKubernetesObject<V1ObjectMeta>>())
        {
            var (group, resource) = Resource(obj);
            foreach (var verb in new[] { "get", "create", "patch" })
            {
                if (obj is V1Namespace)
                {
                    // The namespace exists before Jenkins deploys (deploy/jenkins creates it); apply only reads and patches it.
                    if (verb != "create")
                    {
                        Assert.True(Allows(jenkins, account, null, group, resource, verb, obj.Metadata.Name), $"jenkins may {verb} namespace {obj.Metadata.Name}");
                    }

                    continue;
                }

                Assert.True(Allows(jenkins, account, obj.Metadata.NamespaceProperty, group, resource, verb, obj.Metadata.Name), $"jenkins may {verb} {resource}.{group} in {obj.Metadata.NamespaceProperty}");
            }
        }

        Assert.True(Allows(jenkins, account, "ramcoin", "apps", "replicasets", "list", null), "rollout status lists replica sets");
        Assert.True(Allows(jenkins, account, "jenkins", "", "pods", "create", null), "Jenkins starts its agent pods");
        Assert.False(Allows(jenkins, account, "kube-system", "apps", "deployments", "patch", "coredns"), "and nothing outside its namespaces");
    }

    [Fact]
    public void ThePipelinesBuildTheDockerfilesTargetsTestWithCiRunAndWaitForRollouts()
    {
        var jenkinsfile = Repo.Read("Jenkinsfile");
        var deploy = Repo.Read(".github/workflows/deploy.yml");
        // The steps live in deploy/ci/pipeline.sh, which both pipelines call (PipelineScriptTests runs it).
        var script = Repo.Read("deploy/ci/pipeline.sh");

        Assert.Contains("bash .ci/run", jenkinsfile, StringComparison.Ordinal);
        Assert.Contains("ALL_SERVICES=\"rng hasher worker webui\"", script, StringComparison.Ordinal);
        Assert.Contains("apply -k", script, StringComparison.Ordinal);
        Assert.Contains("rollout status", script, StringComparison.Ordinal);
        Assert.Contains("rollout undo", script, StringComparison.Ordinal);
        // The image names the overlays map: ramcoin/<service>, as in base/kustomization.yaml.
        Assert.Contains("name: ramcoin/%s", script, StringComparison.Ordinal);
        Assert.Contains("newName: ramcoin/rng", Repo.Read($"{Manifests.Root}/base/kustomization.yaml"), StringComparison.Ordinal);

        Assert.All(Services, s => Assert.NotEmpty(DockerfileTests.EntryPoint(s)));
        Assert.Contains("--target \"$service\"", script, StringComparison.Ordinal);
        // Every overlay a pipeline offers exists.
        var offered = string.Join(' ',
            Regex.Matches(jenkinsfile, @"choices: \[([^\]]*)\]").Single().Groups[1].Value,
            Regex.Matches(deploy, @"options: \[([^\]]*)\]").Single().Groups[1].Value,
            Regex.Match(deploy, @"OVERLAY: (\w+)").Groups[1].Value);
        foreach (Match overlay in Regex.Matches(offered, @"[a-z][a-z-]+"))
        {
            Assert.True(Directory.Exists(Repo.PathOf($"{Manifests.Root}/overlays/{overlay.Value}")), $"overlay {overlay.Value} exists");
        }

        Assert.Contains("fast", offered, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryShellScriptIsShellcheckClean()
    {
        var shellcheck = Repo.RequireTool("shellcheck", "shellcheck");
        var scripts = Repo.SourceFiles("*.sh").Append(".ci/run").ToList();
        Assert.Contains(Path.Combine("deploy", "cloudlab", "bootstrap.sh"), scripts);

        var result = await Repo.RunAsync(shellcheck, ["--severity=style", .. scripts]);

        Assert.True(result.ExitCode == 0, result.Describe());
    }

    [Fact]
    public async Task TheCloudLabProfileIsPythonAndRunsTheBootstrapScript()
    {
        var python = Repo.RequireTool("python3", "python3");
        var profile = "deploy/cloudlab/profile.py";

        // Syntax only: geni-lib exists on CloudLab, not here. ast.parse writes no __pycache__.
        var result = await Repo.RunAsync(python, ["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])", profile]);

        Assert.True(result.ExitCode == 0, result.Describe());
        var text = Repo.Read(profile);
        Assert.Contains("import geni.portal as portal", text, StringComparison.Ordinal);
        Assert.Contains("printRequestRSpec(", text, StringComparison.Ordinal);
        foreach (Match script in Regex.Matches(text, @"deploy/cloudlab/([a-z-]+\.sh)"))
        {
            Assert.True(File.Exists(Repo.PathOf($"deploy/cloudlab/{script.Groups[1].Value}")), $"{script.Value} exists");
        }

        foreach (Match script in Regex.Matches(Repo.Read("deploy/cloudlab/bootstrap.sh"), @"([a-z-]+\.sh)"))
        {
            Assert.True(File.Exists(Repo.PathOf($"deploy/cloudlab/{script.Groups[1].Value}")), $"bootstrap.sh calls {script.Value}, which exists");
        }
    }

    private static (string Group, string Resource) Resource(IKubernetesObject<V1ObjectMeta> obj)
    {
        var group = obj.ApiVersion.Contains('/', StringComparison.Ordinal) ? obj.ApiVersion.Split('/')[0] : "";
        var resource = obj.Kind.ToLowerInvariant() switch
        {
            "networkpolicy" => "networkpolicies",
            "poddisruptionbudget" => "poddisruptionbudgets",
            "horizontalpodautoscaler" => "horizontalpodautoscalers",
            var kind => kind + "s",
        };
        return (group, resource);
    }

    /// <summary>RBAC, evaluated: a Role bound in the namespace, or a ClusterRole bound cluster-wide or in the namespace.</summary>
    private static bool Allows(IReadOnlyList<object> objects, V1ServiceAccount account, string? ns, string group, string resource, string verb, string? name)
    {
        bool Subject(IList<Rbacv1Subject>? subjects) =>
            subjects?.Any(s => s.Kind == "ServiceAccount" && s.Name == account.Metadata.Name && s.NamespaceProperty == account.Metadata.NamespaceProperty) == true;

        bool RuleAllows(V1PolicyRule rule) =>
            (rule.ApiGroups ?? []).Any(g => g == "*" || g == group)
            && (rule.Resources ?? []).Any(r => r == "*" || r == resource)
            && rule.Verbs.Any(v => v == "*" || v == verb)
            && (rule.ResourceNames is not { Count: > 0 } || (name is not null && rule.ResourceNames.Contains(name)));

        IEnumerable<V1PolicyRule> Rules(V1RoleRef reference, string? bindingNamespace) => reference.Kind == "ClusterRole"
            ? objects.OfType<V1ClusterRole>().Where(r => r.Metadata.Name == reference.Name).SelectMany(r => r.Rules ?? [])
            : objects.OfType<V1Role>().Where(r => r.Metadata.Name == reference.Name && r.Metadata.NamespaceProperty == bindingNamespace).SelectMany(r => r.Rules ?? []);

        var namespaced = ns is null
            ? []
            : objects.OfType<V1RoleBinding>().Where(b => b.Metadata.NamespaceProperty == ns && Subject(b.Subjects)).SelectMany(b => Rules(b.RoleRef, ns));
        var clusterWide = objects.OfType<V1ClusterRoleBinding>().Where(b => Subject(b.Subjects)).SelectMany(b => Rules(b.RoleRef, null));
        return namespaced.Concat(clusterWide).Any(RuleAllows);
    }
}
