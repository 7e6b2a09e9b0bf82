using RamCoin.Tests.Engine;

namespace RamCoin.Tests.Cluster;

/// <summary>
/// A real one-node Kubernetes 1.20 (tests/cluster: built once per machine, then started in about 20 s), started by the
/// first test that asks for it and stopped at the end: its processes by PID, its bridge, its iptables rules. It runs
/// beside the real Docker engine of <see cref="DockerEngine"/>, which builds the images. The course's registry pulls
/// (<c>127.0.0.1:30000/...</c>) go to whatever answers that NodePort; <c>docker.io</c> images (the slides'
/// <c>--image=redis</c>) come from a stand-in registry on 127.0.0.1:5001 that holds the engine's stand-ins.
/// </summary>
public sealed class KubernetesCluster : IAsyncDisposable
{
    /// <summary>The course's registry NodePort, as the nodes pull from it.</summary>
    public const string Registry = "127.0.0.1:30000";

    /// <summary>The tag under which the tests' images are put into the node directly (no registry needed).</summary>
    public const string Tag = "test";

    private const string Hub = "127.0.0.1:5001";

    private static readonly string[] Tools = ["etcd", "containerd", "runc", "dnsmasq", "conntrack", "iptables", "go", "kubectl", "ctr", "docker-registry"];

    private DockerEngine? _engine;
    private string _folder = "";
    private bool _started;

    public string Kubeconfig => Path.Combine(_folder, "kubeconfig");

    /// <summary>The settings of every command run against the cluster: the engine's, and KUBECONFIG.</summary>
    public Dictionary<string, string?> Environment
    {
        get
        {
            var environment = new Dictionary<string, string?>(_engine!.Environment) { ["KUBECONFIG"] = Kubeconfig };
            return environment;
        }
    }

    /// <summary>Builds the images (once), starts the cluster (once) and puts the images on its node.</summary>
    public Task StartAsync(DockerEngine engine) => engine.OnceAsync("cluster", async () =>
    {
        engine.Require();
        _engine = engine;
        foreach (var tool in Tools)
        {
            if (DockerEngine.Which(tool) is null)
            {
                Assert.Skip($"the test cluster needs {tool}: apt-get install -y golang-go etcd-server containerd runc containernetworking-plugins conntrack dnsmasq-base iptables docker-registry (bash .ci/run installs them)");
            }
        }

        await engine.BuildTargetsAsync();
        // A run that was killed leaves its cluster running (its ports and its bridge): stop it first.
        foreach (var earlier in Directory.GetDirectories(Path.GetTempPath(), "ramcoin-cluster-*").Where(d => File.Exists(Path.Combine(d, "pids"))))
        {
            await Repo.RunAsync("bash", [Repo.PathOf("tests/cluster/cluster.sh"), "stop", earlier], timeoutSeconds: 120);
        }

        _folder = Directory.CreateTempSubdirectory("ramcoin-cluster-").FullName;
        var clock = Stopwatch.StartNew();
        var build = await Repo.RunAsync("bash", [Repo.PathOf("tests/cluster/build.sh")], timeoutSeconds: 3600);
        Assert.True(build.ExitCode == 0, "tests/cluster/build.sh: " + build.Describe());
        var built = clock.Elapsed;
        clock.Restart();
        _started = true;
        var start = await Repo.RunAsync("bash", [Repo.PathOf("tests/cluster/cluster.sh"), "start", _folder], timeoutSeconds: 300);
        Assert.True(start.ExitCode == 0, "tests/cluster/cluster.sh start: " + start.Describe() + Logs());
        Figures.Report(string.Create(CultureInfo.InvariantCulture, $"cluster: binaries ready in {built.TotalSeconds:F0} s ({(build.Error.Contains("building", StringComparison.Ordinal) ? "built now" : "cached")}); node Ready {clock.Elapsed.TotalSeconds:F1} s after start"));

        // The stand-ins under the names the slides pull from Docker Hub (latest: always pulled), and the images the
        // Kubernetes files name, put on the node (IfNotPresent: never pulled).
        foreach (var (image, name) in new[] { ("redis:7", "library/redis:latest"), ("registry:2", "library/registry:latest") })
        {
            await engine.DockerAsync("tag", image, $"{Hub}/{name}");
            await engine.DockerAsync("push", $"{Hub}/{name}");
        }

        var images = new List<string> { "redis:7", "registry:2", DockerEngine.Tools };
        foreach (var service in DockerEngine.Services)
        {
            await engine.DockerAsync("tag", $"ramcoin/{service}", $"{Registry}/{service}:{Tag}");
            images.Add($"{Registry}/{service}:{Tag}");
        }

        await ImportAsync([.. images]);
    });

    /// <summary><c>docker save</c> into the node's containerd (the k8s.io namespace, where the kubelet looks).</summary>
    public async Task ImportAsync(params string[] images)
    {
        var archive = Path.Combine(_folder, "images.tar");
        await _engine!.DockerAsync(["save", "-o", archive, .. images]);
        var import = await Repo.RunAsync("ctr", ["--address", Path.Combine(_folder, "containerd", "containerd.sock"), "-n", "k8s.io", "images", "import", archive], timeoutSeconds: 600);
        Assert.True(import.ExitCode == 0, "ctr images import: " + import.Describe());
        File.Delete(archive);
    }

    public async Task<string> KubectlAsync(params string[] args)
    {
        var result = await TryKubectlAsync(args);
        Assert.True(result.ExitCode == 0, $"kubectl {string.Join(' ', args)}: {result.Describe()}");
        return result.Output;
    }

    public Task<(int ExitCode, string Output, string Error)> TryKubectlAsync(params string[] args) =>
        Repo.RunAsync("kubectl", args, Environment, timeoutSeconds: 300, workingDirectory: _engine!.Folder);

    /// <summary>Lines of bash in the repository copy (the README's commands as written), against this cluster.</summary>
    public Task<string> ShellAsync(string command, int timeoutSeconds = 900, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var environment = Environment;
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[name] = value;
        }

        return _engine!.ShellAsync(command, timeoutSeconds, environment);
    }

    /// <summary>A step of deploy/ci/pipeline.sh for TARGET=kubernetes, from the repository copy.</summary>
    public Task<(int ExitCode, string Output, string Error)> TryPipelineAsync(string step, IReadOnlyDictionary<string, string?> settings)
    {
        var environment = Environment;
        environment["TARGET"] = "kubernetes";
        environment["REGISTRY"] = Registry;
        environment["TAG"] = Tag;
        foreach (var (name, value) in settings)
        {
            environment[name] = value;
        }

        return Repo.RunAsync("sh", ["deploy/ci/pipeline.sh", step], environment, 900, _engine!.Folder);
    }

    public async Task<string> PipelineAsync(string step, IReadOnlyDictionary<string, string?> settings)
    {
        var result = await TryPipelineAsync(step, settings);
        Assert.True(result.ExitCode == 0, $"pipeline.sh {step}: {result.Describe()}{await PodsAsync()}");
        return result.Error;
    }

    /// <summary>The pods of every namespace, for a failure message.</summary>
    public async Task<string> PodsAsync() => "\n" + (await TryKubectlAsync("get", "pods", "-A", "-o", "wide")).Output;

    /// <summary>Removes a namespace and waits until it is gone (its PersistentVolumes' folders stay on the node).</summary>
    public async Task DeleteNamespaceAsync(string name)
    {
        await TryKubectlAsync("delete", "namespace", name, "--ignore-not-found", "--wait=true", "--timeout=180s");
    }

    /// <summary>The web UI's <c>/json</c> hash count through a URL, or null while it does not answer.</summary>
    public static async Task<long?> HashesAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            var json = await http.GetFromJsonAsync<JsonElement>(url.TrimEnd('/') + "/json", Ct);
            return json.GetProperty("hashes").GetInt64();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException or KeyNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Hashes per second at a web UI over a window, from two reads of its counter.</summary>
    public static async Task<double> RateAsync(string url, int seconds)
    {
        var first = await HashesAsync(url) ?? 0;
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(seconds), Ct);
        var last = await HashesAsync(url) ?? 0;
        return (last - first) / clock.Elapsed.TotalSeconds;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_started)
        {
            return;
        }

        var stop = await Repo.RunAsync("bash", [Repo.PathOf("tests/cluster/cluster.sh"), "stop", _folder], timeoutSeconds: 120);
        if (stop.ExitCode == 0)
        {
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
                // A mount the kernel has not let go of yet: the folder is under /tmp.
            }
        }
    }

    private string Logs()
    {
        var logs = Path.Combine(_folder, "logs");
        return Directory.Exists(logs)
            ? string.Concat(Directory.GetFiles(logs).Select(f => $"\n--- {Path.GetFileName(f)}\n" + string.Join('\n', File.ReadLines(f).TakeLast(15))))
            : "";
    }
}
