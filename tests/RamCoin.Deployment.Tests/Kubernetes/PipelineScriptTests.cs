using System.Security.Cryptography;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace RamCoin.Tests.Kubernetes;

/// <summary>
/// deploy/ci/pipeline.sh, run for real with /bin/sh: render's manifests (kubectl kustomize, offline), its answers to
/// bad input, and check against a real HTTP server. The Docker-backed commands run in the engine tests.
/// </summary>
public sealed class PipelineScriptTests
{
    private const string Script = "deploy/ci/pipeline.sh";
    private const string Registry = "registry.example:5000/team";
    private const string VersionHeader = "X-RamCoin-Version";

    [Theory]
    [InlineData("classic", "registry", "abc1234")]
    // A short commit can be all digits: the tag must still be a string in kustomization.yaml.
    [InlineData("classic", "rng-daemonset network-policies", "1234567")]
    [InlineData("fast", "registry rng-daemonset", "v2.0.1")]
    // Every component is listed already: adding one again changes nothing.
    [InlineData("all-components", "registry", "abc1234")]
    public async Task RenderSetsEveryServicesImageAndAddsTheComponents(string overlay, string components, string tag)
    {
        var before = Snapshot(Manifests.Root);

        var result = await RunAsync(["render"], new() { ["TARGET"] = "kubernetes", ["OVERLAY"] = overlay, ["COMPONENTS"] = components, ["REGISTRY"] = Registry, ["TAG"] = tag });

        Assert.True(result.ExitCode == 0, result.Describe());
        var objects = KubernetesYaml.LoadAllFromString(result.Output, strict: true);
        Assert.Equal(Manifests.Services.Order(), Manifests.Images(objects).Keys.Order());
        Assert.All(Manifests.Images(objects), i => Assert.Equal($"{Registry}/{i.Key}:{tag}", i.Value));
        foreach (var component in components.Split(' '))
        {
            switch (component)
            {
                case "registry":
                    Assert.Contains(objects.OfType<V1Deployment>(), d => d.Metadata.Name == "registry");
                    Assert.Contains(objects.OfType<V1Service>(), s => s.Metadata.Name == "registry" && s.Spec.Ports.Any(p => p.NodePort == 30000));
                    break;
                case "rng-daemonset":
                    Assert.Contains(objects.OfType<V1DaemonSet>(), d => d.Metadata.Name == "rng");
                    Assert.DoesNotContain(objects.OfType<V1Deployment>(), d => d.Metadata.Name == "rng");
                    break;
                case "network-policies":
                    Assert.Contains(objects.OfType<V1NetworkPolicy>(), p => p.Metadata.Name == "default-deny");
                    break;
                default:
                    Assert.Fail($"no check for component {component}");
                    break;
            }
        }

        Assert.Contains($"overlays/{overlay}", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(Manifests.Root));
    }

    [Fact]
    public async Task RenderOfSomeServicesKeepsTheOverlaysImagesForTheOthers()
    {
        var result = await RunAsync(["render"], new() { ["TARGET"] = "kubernetes", ["OVERLAY"] = "fast", ["SERVICES"] = "webui", ["REGISTRY"] = Registry, ["TAG"] = "t2" });

        Assert.True(result.ExitCode == 0, result.Describe());
        var images = Manifests.Images(KubernetesYaml.LoadAllFromString(result.Output, strict: true));
        Assert.Equal($"{Registry}/webui:t2", images["webui"]);
        Assert.All(Manifests.Services.Where(s => s != "webui"), s => Assert.Equal($"ghcr.io/ramcoin/ramcoin/{s}:latest", images[s]));
    }

    [Theory]
    [InlineData("bogus", "", "", "'bogus'")]
    [InlineData("deploy", "TARGET", "k8s", "'k8s'")]
    [InlineData("build", "BUILDER", "podman", "'podman'")]
    [InlineData("render", "OVERLAY", "huge", "'huge'")]
    [InlineData("render", "COMPONENTS", "registry nope", "'nope'")]
    [InlineData("wait", "TIMEOUT", "soon", "'soon'")]
    [InlineData("deploy", "TAG", "a:b", "'a:b'")]
    [InlineData("secret", "NAMESPACE", "Ram coin", "'Ram coin'")]
    [InlineData("check", "", "", "URL")]
    public async Task BadInputExitsNonZeroNamingIt(string command, string variable, string value, string named)
    {
        var environment = new Dictionary<string, string?> { ["TARGET"] = command == "render" ? "kubernetes" : null };
        if (variable.Length > 0)
        {
            environment[variable] = value;
        }

        var result = await RunAsync([command], environment);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(named, result.Error, StringComparison.Ordinal);
        Assert.StartsWith("pipeline: ", result.Error.Split('\n').First(l => l.Contains(named, StringComparison.Ordinal)), StringComparison.Ordinal);
        if (command == "bogus")
        {
            Assert.Contains("usage: pipeline.sh", result.Error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("help")]
    [InlineData(null)]
    public async Task HelpListsTheCommandsAndSettings(string? command)
    {
        var result = await RunAsync(command is null ? [] : [command], []);

        Assert.True(result.ExitCode == 0, result.Describe());
        foreach (var word in new[] { "build", "push", "deploy", "render", "secret", "wait", "check URL", "REGISTRY=", "TAG=", "SERVICES=", "TARGET=", "BUILDER=", "PUSH_REGISTRY=", "STACK=", "STACK_FILE=", "NAMESPACE=", "OVERLAY=", "COMPONENTS=", "TIMEOUT=", "KUBECTL=" })
        {
            Assert.Contains(word, result.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task CheckPassesWhenTheWebUIServesTheTagAndMinesAndFailsInTimeOtherwise()
    {
        // The header the script reads is the one the services send.
        Assert.Equal(ServiceIdentity.VersionHeader, VersionHeader);
        await using var webui = await StartWebUIAsync("abc1234");
        var url = webui.Address.ToString();

        var right = await RunAsync(["check", url], new() { ["TAG"] = "abc1234", ["TIMEOUT"] = "30" });
        Assert.True(right.ExitCode == 0, right.Describe());
        Assert.Contains("pipeline: check: version abc1234", right.Error, StringComparison.Ordinal);

        var clock = Stopwatch.StartNew();
        var wrong = await RunAsync(["check", url], new() { ["TAG"] = "def5678", ["TIMEOUT"] = "4" });
        Assert.NotEqual(0, wrong.ExitCode);
        Assert.InRange(clock.Elapsed.TotalSeconds, 4, 20);
        Assert.Contains("version abc1234", wrong.Error, StringComparison.Ordinal);

        // The right version, but the hash count stands still: not mining.
        var stuck = await RunAsync(["check", webui.Address + "stuck"], new() { ["TAG"] = "abc1234", ["TIMEOUT"] = "4" });
        Assert.NotEqual(0, stuck.ExitCode);
        Assert.Contains("hashes 42", stuck.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretCreatesTheNamespaceAndARandomStorePasswordOnlyWhenMissing()
    {
        var before = Snapshot("deploy");
        using var cluster = new StandInCluster();

        var first = await RunAsync(["secret"], cluster.Settings());
        Assert.True(first.ExitCode == 0, first.Describe());
        Assert.Equal(["get namespace ramcoin", "create namespace ramcoin --save-config", "create -f -"], cluster.Calls());
        var secret = cluster.Secret();
        Assert.Equal(("ramcoin-store", "ramcoin", "Opaque"), (secret.Metadata.Name, secret.Metadata.NamespaceProperty, secret.Type));
        var password = Assert.Single(secret.StringData, d => d.Key == "REDIS_PASSWORD").Value;
        Assert.Matches("^[0-9a-f]{32}$", password);
        Assert.Contains("created the Secret ramcoin-store in ramcoin", first.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(password, first.Error + first.Output, StringComparison.Ordinal);

        // Each run draws a new password; one that exists is kept (the running pods read it at start).
        cluster.Reply("Error from server (AlreadyExists): secrets \"ramcoin-store\" already exists");
        var again = await RunAsync(["secret"], cluster.Settings());
        Assert.True(again.ExitCode == 0, again.Describe());
        Assert.Contains("exists in ramcoin: kept", again.Error, StringComparison.Ordinal);
        Assert.NotEqual(password, Assert.Single(cluster.Secret().StringData).Value);
        Assert.DoesNotContain("create namespace ramcoin --save-config", cluster.Calls().Skip(3));

        // Jenkins' agents may not create Secrets: the one an administrator made is taken as there.
        cluster.Reply("Error from server (Forbidden): secrets is forbidden: User \"system:serviceaccount:jenkins:jenkins-agent\" cannot create resource \"secrets\"");
        var forbidden = await RunAsync(["secret"], cluster.Settings());
        Assert.True(forbidden.ExitCode == 0, forbidden.Describe());
        Assert.Contains("may not create Secrets in ramcoin", forbidden.Error, StringComparison.Ordinal);

        // Anything else stops with the API server's words.
        cluster.Reply("error: You must be logged in to the server (Unauthorized)");
        var broken = await RunAsync(["secret"], cluster.Settings());
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("pipeline: secret: could not create the Secret ramcoin-store in ramcoin: error: You must be logged in", broken.Error, StringComparison.Ordinal);

        Assert.Equal(before, Snapshot("deploy"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DeployMakesTheSecretFirstAndLeavesTheNamespaceAloneWhenItMayNotPatchIt(bool mayPatchNamespace)
    {
        using var cluster = new StandInCluster(mayPatchNamespace);

        var result = await RunAsync(["deploy"], cluster.Settings(new() { ["TARGET"] = "kubernetes", ["REGISTRY"] = Registry, ["TAG"] = "abc1234" }));

        Assert.True(result.ExitCode == 0, result.Describe());
        var calls = cluster.Calls();
        // The namespace as the overlay declares it (Pod Security labels), then the Secret, then the rest.
        // The replicas the cluster runs first (a release keeps them), then the namespace as the overlay declares it (Pod
        // Security labels), then the Secret, then the rest.
        Assert.StartsWith("-n ramcoin get deployments -o jsonpath=", calls.First(c => !c.StartsWith("kustomize", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal(["get namespace ramcoin", "create --save-config -f -", "create -f -", "auth can-i patch namespace/ramcoin"], calls.Where(c => !c.StartsWith("kustomize", StringComparison.Ordinal) && !c.StartsWith("-n ", StringComparison.Ordinal)).SkipLast(1));
        var created = Assert.IsType<V1Namespace>(Assert.Single(KubernetesYaml.LoadAllFromString(cluster.Read("namespace.yaml"), strict: true)));
        Assert.Equal("restricted", created.Metadata.Labels["pod-security.kubernetes.io/enforce"]);
        Assert.StartsWith("apply -f", calls[^1], StringComparison.Ordinal);
        Assert.Equal("ramcoin-store", cluster.Secret().Metadata.Name);

        var applied = KubernetesYaml.LoadAllFromString(cluster.Read("applied.yaml"), strict: true);
        Assert.Equal(mayPatchNamespace, applied.OfType<V1Namespace>().Any());
        Assert.All(Manifests.Images(applied), i => Assert.Equal($"{Registry}/{i.Key}:abc1234", i.Value));
        Assert.Contains(applied.OfType<V1Deployment>(), d => d.Metadata.Name == "redis");
        Assert.Empty(applied.OfType<V1Secret>());
        Assert.Equal(mayPatchNamespace ? 0 : 1, (await Manifests.RenderAsync("classic", [])).Count - applied.Count);
    }

    /// <summary>
    /// A stand-in for the API server behind kubectl (no cluster runs here): a kubectl script that renders with the real
    /// kubectl, records every other call, keeps what is sent to it, and answers as the server does (a namespace is
    /// missing until created; a Secret create answers with the reply set; auth can-i as told).
    /// </summary>
    private sealed class StandInCluster : IDisposable
    {
        private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("ramcoin-cluster-");

        public StandInCluster(bool mayPatchNamespace = true)
        {
            var kubectl = Repo.RequireToolWithHint("kubectl", "install kubectl (https://kubernetes.io/docs/tasks/tools/); its built-in kustomize renders offline");
            File.WriteAllText(Path.Combine(_folder.FullName, "kubectl"), $$"""
                state='{{_folder.FullName}}'
                case "$*" in kustomize*) exec '{{kubectl}}' "$@" ;; esac
                echo "$*" >>"$state/calls"
                case "$*" in
                  "-n "*" get deployments"*) ;;
                  "get namespace "*) [ -f "$state/namespace" ] || { echo "Error from server (NotFound): namespaces \"$3\" not found" >&2; exit 1; } ;;
                  "create namespace "*) touch "$state/namespace" ;;
                  "create --save-config -f -") cat >"$state/namespace.yaml"; touch "$state/namespace" ;;
                  "create -f -") cat >"$state/secret.yaml"; [ ! -f "$state/reply" ] || { cat "$state/reply" >&2; exit 1; } ;;
                  "auth can-i "*) if {{(mayPatchNamespace ? "true" : "false")}}; then echo yes; else echo no; exit 1; fi ;;
                  "apply -f -") cat >"$state/applied.yaml" ;;
                  "apply -f "*) cat "$3" >"$state/applied.yaml" ;;
                  *) echo "stand-in kubectl: unexpected $*" >&2; exit 3 ;;
                esac
                """.Replace("\r", "", StringComparison.Ordinal));
        }

        public Dictionary<string, string?> Settings(Dictionary<string, string?>? more = null)
        {
            var settings = more ?? [];
            // KUBECTL is split into words (it may carry options): the stand-in runs with sh.
            settings["KUBECTL"] = $"sh {Path.Combine(_folder.FullName, "kubectl")}";
            return settings;
        }

        public void Reply(string error) => File.WriteAllText(Path.Combine(_folder.FullName, "reply"), error + "\n");

        public string Read(string file) => File.ReadAllText(Path.Combine(_folder.FullName, file));

        public List<string> Calls() => [.. File.ReadAllLines(Path.Combine(_folder.FullName, "calls"))];

        public V1Secret Secret() => Assert.IsType<V1Secret>(Assert.Single(KubernetesYaml.LoadAllFromString(Read("secret.yaml"), strict: true)));

        public void Dispose() => _folder.Delete(recursive: true);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string[] args, Dictionary<string, string?> settings)
    {
        var sh = Repo.RequireTool("sh", "dash");
        var kubectl = Repo.RequireToolWithHint("kubectl", "install kubectl (https://kubernetes.io/docs/tasks/tools/); its built-in kustomize renders offline");
        // Only what the test sets: none of the script's settings from the tests' own environment.
        var environment = new Dictionary<string, string?>
        {
            ["KUBECTL"] = kubectl,
            ["TAG"] = "t1",
        };
        foreach (var name in new[] { "REGISTRY", "SERVICES", "TARGET", "BUILDER", "PUSH_REGISTRY", "STACK", "STACK_FILE", "NAMESPACE", "OVERLAY", "COMPONENTS", "TIMEOUT", "VERSION" })
        {
            environment[name] = null;
        }

        foreach (var (name, value) in settings)
        {
            environment[name] = value;
        }

        return await Repo.RunAsync(sh, [Script, .. args], environment, timeoutSeconds: 90);
    }

    /// <summary>Every file under a folder with a hash of its bytes: render must leave the repository's files alone.</summary>
    private static Dictionary<string, string> Snapshot(string folder) =>
        Directory.EnumerateFiles(Repo.PathOf(folder), "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    /// <summary>A stand-in web UI on a loopback port: /json with the version header and a count that rises on every read; /stuck/json whose count does not.</summary>
    private static Task<StandInServer> StartWebUIAsync(string version)
    {
        long hashes = 0;
        IResult Snapshot(HttpResponse response, long count)
        {
            response.Headers[VersionHeader] = version;
            return Results.Text($$"""{"coins":3,"hashes":{{count}},"now":1764576000.5,"stale":false}""", "application/json");
        }

        return StandInServer.StartAsync(app =>
        {
            app.MapGet("/json", (HttpResponse response) => Snapshot(response, Interlocked.Add(ref hashes, 17)));
            app.MapGet("/stuck/json", (HttpResponse response) => Snapshot(response, 42));
        });
    }
}
