using System.Security.Cryptography;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using RamCoin.Tests.Containers;
using YamlDotNet.Serialization;

namespace RamCoin.Tests.Kubernetes;

/// <summary>Jenkins in the cluster, the pipelines and the CloudLab profile, checked offline.</summary>
public sealed class PipelineTests
{
    /// <summary>What the agents may do is asked of a real API server (Cluster/LessonTests); here, the layout.</summary>
    [Fact]
    public async Task JenkinsRunsOnServiceAccountsOfItsOwnAndItsNodePort()
    {
        var jenkins = await Manifests.RenderAsync("deploy/jenkins");
        Assert.Single(jenkins.OfType<V1ServiceAccount>(), a => a.Metadata.Name == "jenkins");
        var agent = Assert.Single(jenkins.OfType<V1ServiceAccount>(), a => a.Metadata.Name == "jenkins-agent");
        var ui = Assert.Single(jenkins.OfType<V1Service>(), s => s.Spec.Type == "NodePort");
        Assert.Equal(30088, Assert.Single(ui.Spec.Ports).NodePort);
        var server = Assert.Single(jenkins.Workloads(), w => w.App == "jenkins");
        Assert.Equal("jenkins", server.Template.Spec.ServiceAccountName);
        Assert.False(agent.AutomountServiceAccountToken ?? true, "the agents' token is mounted only where kubectl runs");
    }

    [Fact]
    public async Task TheNamespacesEnforcePodSecurityAndJenkinsPodsMeetIt()
    {
        var jenkins = await Manifests.RenderAsync("deploy/jenkins");
        var ramcoin = await Manifests.RenderAsync($"{Manifests.Root}/base");
        static string Enforced(IEnumerable<object> objects, string name) =>
            objects.OfType<V1Namespace>().Single(n => n.Metadata.Name == name).Metadata.Labels?.TryGetValue("pod-security.kubernetes.io/enforce", out var level) == true ? level : "none";

        // ramcoin is declared twice (the base and deploy/jenkins): both alike, restricted (KubernetesTests checks its pods).
        Assert.Equal("restricted", Enforced(ramcoin, "ramcoin"));
        Assert.Equal(
            ramcoin.OfType<V1Namespace>().Single().Metadata.Labels.OrderBy(l => l.Key),
            jenkins.OfType<V1Namespace>().Single(n => n.Metadata.Name == "ramcoin").Metadata.Labels.OrderBy(l => l.Key));
        // jenkins: baseline, which its agent pod meets; the controller meets restricted.
        Assert.Equal("baseline", Enforced(jenkins, "jenkins"));
        Assert.Empty(PodSecurityEvaluator.Violations(jenkins.Workloads().Single(w => w.App == "jenkins").Template.Spec, "restricted"));

        var pod = AgentPod();
        Assert.Empty(PodSecurityEvaluator.Violations(pod.Spec, "baseline"));
        Assert.All(pod.Spec.Containers, c => Assert.True(c.SecurityContext?.Privileged != true, $"{c.Name} is not privileged"));
        Assert.Equal("jenkins-agent", pod.Spec.ServiceAccountName);
        // The agents' credentials: in the kubectl container only, not in the tests' or kaniko's.
        Assert.False(pod.Spec.AutomountServiceAccountToken ?? true);
        var token = Assert.Single(pod.Spec.Volumes, v => v.Projected?.Sources?.Any(s => s.ServiceAccountToken is not null) == true);
        Assert.Equal(["kubectl"], pod.Spec.Containers.Where(c => (c.VolumeMounts ?? []).Any(m => m.Name == token.Name)).Select(c => c.Name));
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount", pod.Spec.Containers.Single(c => c.Name == "kubectl").VolumeMounts.Single(m => m.Name == token.Name).MountPath);

        // The tests that need privileges are left out by name in Jenkins (GitHub's ci runs them): the names exist.
        // NetworkNamespaceTests is in the faults project, which this one does not reference: its name is read from its source.
        var jenkinsfile = Repo.Read("Jenkinsfile");
        Assert.Matches(@"namespace RamCoin\.Tests;[\s\S]*\bclass NetworkNamespaceTests\b", Repo.Read("tests/RamCoin.Faults.Tests/NetworkNamespaceTests.cs"));
        Assert.Equal(
            $"--filter-not-namespace {typeof(Engine.DockerEngine).Namespace} --filter-not-class {typeof(NativeAotTests).FullName} --filter-not-class RamCoin.Tests.NetworkNamespaceTests",
            Regex.Match(jenkinsfile, @"UNPRIVILEGED_TESTS = '([^']*)'").Groups[1].Value);
        Assert.Contains("sh \"bash .ci/run ${UNPRIVILEGED_TESTS}\"", jenkinsfile, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePipelinesRunTheScriptWhichBuildsTheDockerfilesTargetsAndWaitsForRollouts()
    {
        var jenkinsfile = Repo.Read("Jenkinsfile");
        var deploy = Repo.Read(".github/workflows/deploy.yml");
        var cloudlab = Repo.Read("deploy/cloudlab/deploy-ramcoin.sh");
        // The steps live in deploy/ci/pipeline.sh, which every caller runs (PipelineScriptTests runs it).
        var script = Repo.Read("deploy/ci/pipeline.sh");

        Assert.Contains("bash .ci/run", jenkinsfile, StringComparison.Ordinal);
        Assert.Contains("BUILDER=kaniko /busybox/sh deploy/ci/pipeline.sh build", jenkinsfile, StringComparison.Ordinal);
        Assert.Contains("export TARGET=kubernetes", jenkinsfile, StringComparison.Ordinal);
        foreach (var command in new[] { "deploy", "wait" })
        {
            Assert.Contains($"bash deploy/ci/pipeline.sh {command}", jenkinsfile, StringComparison.Ordinal);
            Assert.Contains($"deploy/ci/pipeline.sh\" {command}", cloudlab, StringComparison.Ordinal);
        }

        foreach (var command in new[] { "render", "deploy", "wait", "check http://127.0.0.1:8080/" })
        {
            Assert.Contains($"bash deploy/ci/pipeline.sh {command}", deploy, StringComparison.Ordinal);
        }

        Assert.Contains("TARGET: kubernetes", deploy, StringComparison.Ordinal);
        // The script renders with kubectl's own kustomize: no caller downloads one.
        foreach (var text in new[] { jenkinsfile, deploy, cloudlab })
        {
            Assert.DoesNotContain("kustomize/releases", text, StringComparison.Ordinal);
            Assert.DoesNotContain("sigs.k8s.io/kustomize", text, StringComparison.Ordinal);
            Assert.DoesNotContain("kustomize edit", text, StringComparison.Ordinal);
        }

        Assert.Contains("ALL_SERVICES=\"rng hasher worker webui\"", script, StringComparison.Ordinal);
        Assert.Contains("apply -f \"$work/manifests.yaml\"", script, StringComparison.Ordinal);
        Assert.Contains("rollout status", script, StringComparison.Ordinal);
        Assert.Contains("rollout undo", script, StringComparison.Ordinal);
        // The image names the overlays map: ramcoin/<service>, as in base/kustomization.yaml.
        Assert.Contains("name: ramcoin/%s", script, StringComparison.Ordinal);
        Assert.Contains("newName: ramcoin/rng", Repo.Read($"{Manifests.Root}/base/kustomization.yaml"), StringComparison.Ordinal);

        Assert.All(Manifests.Services, s => Assert.NotEmpty(DockerfileTests.EntryPoint(s)));
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

    [Theory]
    [InlineData("v1.2.3", "v1.2.3")]
    [InlineData("", "0123456")]
    [InlineData("latest_2-rc.1", "latest_2-rc.1")]
    [InlineData("v1\nINJECTED=1", null)]
    [InlineData("v1\rINJECTED=1", null)]
    [InlineData("v1 x", null)]
    [InlineData("-rf", null)]
    [InlineData(".hidden", null)]
    [InlineData("v1;id", null)]
    [InlineData("a12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678", null)]
    public async Task TheDeployWorkflowWritesOnlyADockerTagToItsOutputsAndEnvironment(string input, string? tag)
    {
        // The step that writes the hand-given tag into GITHUB_OUTPUT and GITHUB_ENV, run as GitHub runs it (bash -e).
        var workflow = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(Repo.Read(".github/workflows/deploy.yml"));
        var jobs = (Dictionary<object, object>)workflow["jobs"];
        var steps = (List<object>)((Dictionary<object, object>)jobs["kind"])["steps"];
        var step = steps.Cast<Dictionary<object, object>>().Single(s => s.TryGetValue("id", out var id) && (string)id == "images");
        var folder = Directory.CreateTempSubdirectory("ramcoin-workflow-");
        try
        {
            var script = Path.Combine(folder.FullName, "step.sh");
            await File.WriteAllTextAsync(script, (string)step["run"], Ct);
            string Output(string name) => Path.Combine(folder.FullName, name);
            var result = await Repo.RunAsync("bash", ["-e", script], new Dictionary<string, string?>
            {
                ["SHA"] = "0123456789abcdef0123456789abcdef01234567",
                ["INPUT_TAG"] = input,
                ["HAS_KUBECONFIG"] = "false",
                ["GITHUB_REPOSITORY"] = "Course/RamCoin",
                ["GITHUB_OUTPUT"] = Output("output"),
                ["GITHUB_ENV"] = Output("env"),
                ["GITHUB_STEP_SUMMARY"] = Output("summary"),
            }, timeoutSeconds: 30);

            if (tag is null)
            {
                Assert.NotEqual(0, result.ExitCode);
                Assert.Contains("::error::tag must be a Docker tag", result.Output, StringComparison.Ordinal);
                Assert.False(File.Exists(Output("output")) || File.Exists(Output("env")), "nothing is written for a refused tag");
                Assert.DoesNotContain("INJECTED", result.Output + result.Error, StringComparison.Ordinal);
                return;
            }

            Assert.True(result.ExitCode == 0, result.Describe());
            Assert.Contains($"tag={tag}\n", await File.ReadAllTextAsync(Output("output"), Ct), StringComparison.Ordinal);
            Assert.Equal(
                $"REGISTRY=ghcr.io/course/ramcoin\nTAG={tag}\nVERSION={(input == "" ? "0123456789abcdef0123456789abcdef01234567" : "*")}\n",
                await File.ReadAllTextAsync(Output("env"), Ct));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
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

    [Fact]
    public void ActionsImagesAndDownloadsArePinned()
    {
        foreach (var workflow in new[] { ".github/workflows/ci.yml", ".github/workflows/deploy.yml" })
        {
            var text = Repo.Read(workflow);
            var uses = Regex.Matches(text, @"uses: (.*)$", RegexOptions.Multiline);
            Assert.NotEmpty(uses);
            // A commit cannot move; a tag can. The tag stays beside it for the reader (and for updates).
            Assert.All(uses, u => Assert.Matches(@"^[\w.-]+/[\w.-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+$", u.Groups[1].Value));
            // No step signs or attests with GitHub's OIDC token.
            Assert.DoesNotContain("id-token:", text, StringComparison.Ordinal);
            Assert.DoesNotContain("attestations:", text, StringComparison.Ordinal);
        }

        // Deploying to a real cluster goes through an environment, whose protection rules can require an approval.
        var deploy = Repo.Read(".github/workflows/deploy.yml");
        Assert.Matches(@"\n    environment:\n      name: production\n", deploy[deploy.IndexOf("\n  deploy:\n", StringComparison.Ordinal)..]);
        Assert.Matches(@"helm/kind-action@[0-9a-f]{40}  # v[\d.]+\n        with:\n          cluster_name: ramcoin\n(.*\n)*?          version: v\d+\.\d+\.\d+\n          kubectl_version: v\d+\.\d+\.\d+\n", deploy);

        // The agent pod's tool images: a version and a digest; nothing floats on :latest.
        var pod = AgentPod();
        foreach (var name in new[] { "kubectl", "kaniko" })
        {
            Assert.Matches(@"^[a-z0-9./-]+:v?\d+\.\d+\.\d+[\w.-]*@sha256:[0-9a-f]{64}$", pod.Spec.Containers.Single(c => c.Name == name).Image);
        }

        Assert.StartsWith("bitnami/kubectl:", pod.Spec.Containers.Single(c => c.Name == "kubectl").Image, StringComparison.Ordinal);
        Assert.All(pod.Spec.Containers, c => Assert.DoesNotMatch(":latest$", c.Image));

        // CloudLab's downloads: a release, and the file's SHA-256, checked by download.sh before use.
        foreach (var script in new[] { "deploy/cloudlab/install-kubernetes.sh", "deploy/cloudlab/deploy-ramcoin.sh" })
        {
            var text = Repo.Read(script);
            Assert.DoesNotContain("/latest/", text, StringComparison.Ordinal);
            var urls = Regex.Matches(text, @"^(\w+)_URL=\$\{\w+:-(https://\S+)\}$", RegexOptions.Multiline);
            Assert.NotEmpty(urls);
            foreach (Match url in urls)
            {
                var name = url.Groups[1].Value;
                Assert.Matches($@"(?m)^{name}_SHA256=\${{{name}_SHA256:-[0-9a-f]{{64}}}}$", text);
                Assert.Contains($"download \"${name}_URL\" \"${name}_SHA256\" ", text, StringComparison.Ordinal);
                Assert.DoesNotMatch($@"curl [^\n]*\${name}_URL", text);
            }
        }
    }

    [Fact]
    public async Task DownloadKeepsAFileOnlyWhenItsChecksumIsThePinnedOne()
    {
        var bash = Repo.RequireTool("bash", "bash");
        Repo.RequireTool("curl", "curl");
        var body = "kind: DaemonSet\n"u8.ToArray();
        await using var server = await StandInServer.StartAsync(app => app.MapGet("/kube-flannel.yml", () => Results.Bytes(body, "application/yaml")));
        var url = new Uri(server.Address, "/kube-flannel.yml").ToString();
        var folder = Directory.CreateTempSubdirectory("ramcoin-download-");
        try
        {
            async Task<(int ExitCode, string Output, string Error)> Download(string sha256, string file) =>
                await Repo.RunAsync(bash, ["-c", ". deploy/cloudlab/download.sh && download \"$1\" \"$2\" \"$3\"", "download", url, sha256, Path.Combine(folder.FullName, file)]);

            var right = await Download(Convert.ToHexStringLower(SHA256.HashData(body)), "right.yml");
            Assert.True(right.ExitCode == 0, right.Describe());
            Assert.Equal(body, File.ReadAllBytes(Path.Combine(folder.FullName, "right.yml")));

            var wrong = await Download(new string('0', 64), "wrong.yml");
            Assert.Equal(1, wrong.ExitCode);
            Assert.Contains("not the pinned", wrong.Error, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(folder.FullName, "wrong.yml")), "a file with another checksum is not kept");

            var bad = await Download("latest", "bad.yml");
            Assert.Equal(2, bad.ExitCode);
            Assert.Contains("'latest' is not a SHA-256", bad.Error, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>The Jenkinsfile's agent pod, parsed strictly as the API server would take it.</summary>
    private static V1Pod AgentPod()
    {
        var yaml = Regex.Match(Repo.Read("Jenkinsfile"), @"yaml '''\n(.*?)'''", RegexOptions.Singleline).Groups[1].Value;
        return Assert.IsType<V1Pod>(Assert.Single(KubernetesYaml.LoadAllFromString(yaml, strict: true)));
    }
}
