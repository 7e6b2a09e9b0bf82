using System.Text.RegularExpressions;

namespace RamCoin.Tests.Engine;

/// <summary>
/// Alone, after the parallel tests: image builds take both cores, and compose publishes DockerCoins' fixed ports.
/// The Kubernetes cluster shares it: it runs the images this engine builds.
/// </summary>
[CollectionDefinition(nameof(RealEngine), DisableParallelization = true)]
public sealed class RealEngine : ICollectionFixture<DockerEngine>, ICollectionFixture<Cluster.KubernetesCluster>;

/// <summary>
/// A real Docker engine (started when none answers; stopped again if this fixture started it), the local stand-ins
/// for the base images no registry serves here (tests/engine/stand-ins.sh), and a copy of the repository's files in
/// a folder named <c>ramcointest</c>, where the guide's commands run exactly as written (a live edit there leaves the
/// work tree alone; the compose project is named after that folder). Docker's compose plugin is not packaged for
/// this machine: a CLI plugin (tests/engine/compose-plugin.sh) runs Debian's docker-compose 1.29 as
/// <c>docker compose</c>. Docker 20.10's classic builder is used (BuildKit would pull its frontend image).
/// </summary>
public sealed partial class DockerEngine : IAsyncLifetime
{
    /// <summary>The copy's folder, so the compose project: not "ramcoin", so that the tests never touch (or
    /// <c>down -v</c>) a project of a developer's own clone.</summary>
    public const string Project = "ramcointest";
    public const string Tools = "ramcoin-test/tools:1";
    public const string Registry = "127.0.0.1:5000";
    public static readonly string[] Services = ["rng", "hasher", "worker", "webui"];

    private readonly Dictionary<string, string?> _environment = new()
    {
        ["DOCKER_BUILDKIT"] = "0",
        ["COMPOSE_DOCKER_CLI_BUILD"] = "0",
        ["COMPOSE_INTERACTIVE_NO_CLI"] = "1",
        // The tests' own settings must not reach the images, the compose files or the scripts.
        ["REGISTRY"] = null,
        ["TAG"] = null,
        ["RAMCOIN_PROFILE"] = null,
    };

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Task> _once = [];
    private string? _unavailable;
    private string? _failure;
    private Process? _dockerd;
    private bool _swarmStarted;
    private string _scratch = "";

    /// <summary>The repository copy where the commands run.</summary>
    public string Folder { get; private set; } = "";

    public IReadOnlyDictionary<string, string?> Environment => _environment;

    public async ValueTask InitializeAsync()
    {
        if (Which("docker") is null || Which("docker-compose") is null || (Which("dockerd") is null && !await AnswersAsync()))
        {
            _unavailable = "a Docker engine is needed: run 'apt-get install -y docker.io docker-compose debootstrap' (bash .ci/run installs them).";
            return;
        }

        try
        {
            await StartEngineAsync();
            _scratch = Directory.CreateTempSubdirectory("ramcoin-engine-").FullName;
            InstallComposePlugin();
            Folder = Path.Combine(_scratch, Project);
            await CopyRepositoryAsync(Folder);
            await CleanUpAsync();

            var watch = Stopwatch.StartNew();
            var standIns = await Repo.RunAsync("bash", [Repo.PathOf("tests/engine/stand-ins.sh")], _environment, timeoutSeconds: 900);
            if (standIns.ExitCode != 0)
            {
                _failure = "tests/engine/stand-ins.sh failed: " + standIns.Describe();
                return;
            }

            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"engine: base images ready in {watch.Elapsed.TotalSeconds:F0} s ({(standIns.Error.Contains("building", StringComparison.Ordinal) ? "stand-ins built" : "all there already")})"));
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or IOException)
        {
            _failure = "the Docker engine could not be prepared: " + ex.Message;
        }
    }

    /// <summary>Whether the engine runs and its stand-ins are ready.</summary>
    public bool Usable => _unavailable is null && _failure is null;

    /// <summary>The Dockerfile's publish stage (the four Native AOT binaries, in /out/&lt;service&gt;) copied into a folder.</summary>
    public async Task CopyPublishedAsync(string folder)
    {
        await DockerAsync("build", "--target", "publish", "-t", "ramcoin-test/publish", ".");
        var id = (await DockerAsync("create", "ramcoin-test/publish")).Trim();
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            await DockerAsync("cp", $"{id}:/out", folder);
        }
        finally
        {
            await TryDockerAsync("rm", id);
        }
    }

    /// <summary>Skips when there is no engine at all; fails when it could not be prepared.</summary>
    public void Require()
    {
        if (_unavailable is not null)
        {
            Assert.Skip(_unavailable);
        }

        Assert.True(_failure is null, _failure);
    }

    /// <summary>Runs a step once for the whole collection; later callers await the same run.</summary>
    public Task OnceAsync(string name, Func<Task> step)
    {
        lock (_gate)
        {
            if (!_once.TryGetValue(name, out var task) || task.IsFaulted || task.IsCanceled)
            {
                task = step();
                _once[name] = task;
            }

            return task;
        }
    }

    /// <summary>A docker CLI call; its output, or a failed assertion with the whole answer.</summary>
    public async Task<string> DockerAsync(params string[] args) => await RunAsync("docker", args, 600);

    public Task<(int ExitCode, string Output, string Error)> TryDockerAsync(params string[] args) =>
        Repo.RunAsync("docker", args, _environment, timeoutSeconds: 600, workingDirectory: Folder);

    /// <summary>
    /// Removes the test's Swarm stack and waits until its task containers are gone: <c>docker stack rm</c> returns at
    /// once and they stop over their grace period, holding their images meanwhile (a registry test right after could
    /// not remove one).
    /// </summary>
    public async Task RemoveStackAsync()
    {
        await TryDockerAsync("stack", "rm", SwarmTests.Stack);
        var clock = Stopwatch.StartNew();
        while ((await TryDockerAsync("ps", "-aq", "--filter", $"label=com.docker.stack.namespace={SwarmTests.Stack}")).Output.Trim().Length > 0
            && clock.Elapsed < TimeSpan.FromSeconds(90))
        {
            await Task.Delay(500);
        }
    }

    /// <summary>One line of docs/deployment.md, exactly as written, run by bash in the repository copy.</summary>
    public Task<string> ShellAsync(string command, int timeoutSeconds = 900, IReadOnlyDictionary<string, string?>? environment = null) =>
        RunAsync("bash", ["-c", "set -eo pipefail; " + command], timeoutSeconds, environment);

    public async Task<string> RunAsync(string file, string[] args, int timeoutSeconds = 600, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var merged = new Dictionary<string, string?>(_environment);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            merged[name] = value;
        }

        var result = await Repo.RunAsync(file, args, merged, timeoutSeconds, Folder);
        Assert.True(result.ExitCode == 0, $"{file} {string.Join(' ', args)}: {result.Describe()}");
        return result.Output;
    }

    /// <summary>A step of the CI/CD script (deploy/ci/pipeline.sh) against the local registry, as a pipeline runs it.</summary>
    public Task<(int ExitCode, string Output, string Error)> TryPipelineAsync(string step, string tag, IReadOnlyDictionary<string, string?>? settings = null, string? argument = null)
    {
        var environment = new Dictionary<string, string?>(_environment) { ["REGISTRY"] = Registry, ["TAG"] = tag };
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[name] = value;
        }

        return Repo.RunAsync("sh", ["deploy/ci/pipeline.sh", step, .. argument is null ? Array.Empty<string>() : [argument]], environment, 900, Folder);
    }

    public async Task<string> PipelineAsync(string step, string tag, IReadOnlyDictionary<string, string?>? settings = null, string? argument = null)
    {
        var result = await TryPipelineAsync(step, tag, settings, argument);
        Assert.True(result.ExitCode == 0, $"pipeline.sh {step} (TAG={tag}): {result.Describe()}");
        return result.Output;
    }

    /// <summary>Every Dockerfile target built once, as <c>ramcoin/&lt;target&gt;</c> (later builds reuse its layers).</summary>
    public Task BuildTargetsAsync() => OnceAsync("targets", async () =>
    {
        foreach (var target in (string[])[.. Services, "store"])
        {
            var watch = Stopwatch.StartNew();
            await DockerAsync("build", "--target", target, "-t", $"ramcoin/{target}", ".");
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"engine: docker build --target {target}: {watch.Elapsed.TotalSeconds:F0} s"));
        }
    });

    /// <summary>The registry flow's first half, as docs/deployment.md writes it: a registry on 5000, the images pushed.</summary>
    public Task PushAsync() => OnceAsync("push", async () =>
    {
        await BuildTargetsAsync();
        await ShellAsync("docker compose -f compose.registry.yaml up -d");
        await Eventually.TrueAsync(RegistryAnswersAsync, "the registry answers", 60);
        await ShellAsync("export REGISTRY=127.0.0.1:5000 TAG=v0.1\ndocker compose -f compose.images.yaml build\ndocker compose -f compose.images.yaml push");
    });

    /// <summary>Swarm mode on this one engine (and left again at the end if this fixture turned it on).</summary>
    public Task SwarmAsync() => OnceAsync("swarm", async () =>
    {
        var state = (await DockerAsync("info", "--format", "{{.Swarm.LocalNodeState}}")).Trim();
        if (state != "active")
        {
            await DockerAsync("swarm", "init", "--advertise-addr", "127.0.0.1");
            _swarmStarted = true;
        }
    });

    /// <summary>Memory of running containers as <c>docker stats</c> gives it (MiB), by the names or IDs given.</summary>
    public async Task<Dictionary<string, double>> MemoryAsync(params string[] containers)
    {
        var output = await DockerAsync(["stats", "--no-stream", "--format", "{{.Container}}\t{{.MemUsage}}", .. containers]);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t'))
            .ToDictionary(p => p[0], p => MiB(p[1].Split('/')[0].Trim()));
    }

    /// <summary>A container's IDs for a compose service (docker-compose 1.29 names them project_service_N).</summary>
    public async Task<string[]> ContainersAsync(string service, bool all = false) =>
        (await DockerAsync(["ps", all ? "-a" : "--no-trunc", "-q", "--filter", $"label=com.docker.compose.project={Project}", "--filter", $"label=com.docker.compose.service={service}"]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The store's <c>hashes</c> counter, read with redis-cli inside the redis container.</summary>
    public async Task<long> StoreHashesAsync(string container)
    {
        var value = (await DockerAsync("exec", container, "redis-cli", "get", "hashes")).Trim();
        return value.Length == 0 ? 0 : long.Parse(value, CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        if (_unavailable is not null)
        {
            return;
        }

        try
        {
            await CleanUpAsync();
            if (_swarmStarted)
            {
                await TryDockerAsync("swarm", "leave", "--force");
            }
        }
        finally
        {
            if (_dockerd is not null)
            {
                // SIGTERM: dockerd stops its containers and removes its pid file.
                using var kill = Process.Start("kill", ["-TERM", _dockerd.Id.ToString(CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await _dockerd.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    _dockerd.Kill();
                }

                _dockerd.Dispose();
            }

            if (_scratch.Length > 0)
            {
                Directory.Delete(_scratch, recursive: true);
            }
        }
    }

    private static double MiB(string size)
    {
        var match = SizePattern().Match(size);
        Assert.True(match.Success, $"a memory size: {size}");
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "B" => value / 1024 / 1024,
            "KiB" or "kB" => value / 1024,
            "GiB" or "GB" => value * 1024,
            _ => value,
        };
    }

    [GeneratedRegex(@"^([0-9.]+)\s*([A-Za-z]+)$")]
    private static partial Regex SizePattern();

    /// <summary>A tool's path on PATH, or null.</summary>
    internal static string? Which(string tool) =>
        System.Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    private async Task<bool> AnswersAsync() => (await Repo.RunAsync("docker", ["info", "--format", "{{.ServerVersion}}"], _environment, 30)).ExitCode == 0;

    internal static async Task<bool> RegistryAnswersAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            using var response = await http.GetAsync($"http://{Registry}/v2/", Ct);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    private async Task StartEngineAsync()
    {
        if (await AnswersAsync())
        {
            return;
        }

        // A dockerd that was killed leaves its pid file, and the next one refuses to start.
        if (File.Exists("/var/run/docker.pid") && int.TryParse(File.ReadAllText("/var/run/docker.pid").Trim(), out var pid) && !Directory.Exists($"/proc/{pid}"))
        {
            File.Delete("/var/run/docker.pid");
        }

        var log = Path.Combine(AppContext.BaseDirectory, "TestResults", "dockerd.log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        var info = new ProcessStartInfo("sh", ["-c", $"exec dockerd >>'{log}' 2>&1"]) { UseShellExecute = false };
        _dockerd = Process.Start(info)!;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await AnswersAsync())
        {
            if (_dockerd.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"dockerd did not start (exit {(_dockerd.HasExited ? _dockerd.ExitCode : -1)}); its log: {log}");
            }

            await Task.Delay(250);
        }
    }

    private void InstallComposePlugin()
    {
        if (Repo.RunAsync("docker", ["compose", "version"], _environment, 30).GetAwaiter().GetResult().ExitCode == 0)
        {
            return;
        }

        var plugins = Path.Combine(_scratch, "docker-config", "cli-plugins");
        Directory.CreateDirectory(plugins);
        var plugin = Path.Combine(plugins, "docker-compose");
        File.Copy(Repo.PathOf("tests/engine/compose-plugin.sh"), plugin);
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        File.SetUnixFileMode(plugin, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _environment["DOCKER_CONFIG"] = Path.GetDirectoryName(plugins);
    }

    /// <summary>The files git knows (committed or not ignored), as they are on disk now.</summary>
    private static async Task CopyRepositoryAsync(string target)
    {
        var list = await Repo.RunAsync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]);
        var files = list.ExitCode == 0
            ? list.Output.Split('\0', StringSplitOptions.RemoveEmptyEntries)
            : Repo.SourceFiles("*").ToArray();
        foreach (var file in files)
        {
            var source = Repo.PathOf(file);
            if (!File.Exists(source))
            {
                continue;
            }

            var destination = Path.Combine(target, file);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(source, destination);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(destination, File.GetUnixFileMode(source));
            }

        }
    }

    /// <summary>What an earlier, interrupted run may have left: the stack, the proxies, the compose projects.</summary>
    private async Task CleanUpAsync()
    {
        await RemoveStackAsync();
        var leftovers = (await TryDockerAsync("ps", "-aq", "--filter", "label=ramcoin.test")).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (leftovers.Length > 0)
        {
            await TryDockerAsync(["rm", "-f", .. leftovers]);
        }

        foreach (var file in new[] { "compose.yaml", "compose.images.yaml", "compose.registry.yaml" })
        {
            await Repo.RunAsync("docker-compose", ["-p", Project, "-f", Path.Combine(Folder, file), "down", "-v", "--remove-orphans"], _environment, 120, Folder);
        }

        foreach (var network in (await TryDockerAsync("network", "ls", "-q", "--filter", "label=ramcoin.test")).Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            await TryDockerAsync("network", "rm", network);
        }
    }
}
