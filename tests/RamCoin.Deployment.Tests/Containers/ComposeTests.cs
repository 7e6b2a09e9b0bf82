using YamlDotNet.Serialization;

namespace RamCoin.Tests.Containers;

/// <summary>
/// Every compose and stack file, validated offline by Debian's docker-compose (<c>config</c>) and yamllint,
/// then read back as docker-compose resolved it to check what the course relies on.
/// </summary>
public sealed class ComposeTests
{
    private const string Registry = "registry.example:5000";
    private const string Tag = "t42";
    private static readonly string[] DockerCoinsServices = ["hasher", "redis", "rng", "webui", "worker"];
    private static readonly string[] BuiltServices = [ServiceNames.Rng, ServiceNames.Hasher, ServiceNames.WebUI, ServiceNames.Worker];

    public static readonly TheoryData<string> Files = new()
    {
        "compose.yaml",
        "compose.images.yaml",
        "compose.registry.yaml",
        "compose.yaml compose.garnet.yaml",
        "deploy/swarm/stack.yaml",
    };

    [Theory]
    [MemberData(nameof(Files))]
    public async Task DockerComposeValidatesIt(string files)
    {
        var compose = Repo.RequireTool("docker-compose", "docker-compose");
        var result = await Repo.RunAsync(compose, [.. files.Split(' ').SelectMany(f => new[] { "-f", f }), "config", "-q"], Environment());
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.DoesNotContain("WARNING", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryYamlFileIsLintClean()
    {
        var yamllint = Repo.RequireTool("yamllint", "yamllint");
        // A chart's templates are Go templates that render YAML (helm lint --strict checks them: HelmChartTests).
        var templates = Path.Combine("deploy", "helm", "ramcoin", "templates") + Path.DirectorySeparatorChar;
        var files = Repo.SourceFiles("*.y*ml").Where(f => !f.StartsWith(templates, StringComparison.Ordinal)).ToList();
        Assert.Contains("compose.yaml", files);
        Assert.Contains(Path.Combine("deploy", "helm", "ramcoin", "values.yaml"), files);
        Assert.Contains(Path.Combine(".github", "workflows", "ci.yml"), files);

        var result = await Repo.RunAsync(yamllint, ["-s", "-c", ".yamllint.yaml", .. files]);

        Assert.True(result.ExitCode == 0, result.Describe());
    }

    [Fact]
    public async Task TheComposeFileIsADropInForDockerCoins()
    {
        var services = await ServicesAsync("compose.yaml");

        Assert.Equal(DockerCoinsServices, services.Keys.Order());
        Assert.Equal([(8000, 80)], Ports(services["webui"]));
        Assert.Equal([(8001, 80)], Ports(services["rng"]));
        Assert.Equal([(8002, 80)], Ports(services["hasher"]));
        foreach (var name in BuiltServices)
        {
            var build = Map(Map(services[name])["build"]);
            Assert.Equal(Repo.Root, (string)build["context"]);
            Assert.Equal(name, (string)build["target"]);
            // The target exists in the Dockerfile and runs the service's binary.
            Assert.StartsWith("/app/RamCoin.", Assert.Single(DockerfileTests.EntryPoint(name)), StringComparison.Ordinal);
        }

        // --scale worker=10 needs a worker with no fixed host port and no fixed container name.
        Assert.False(Map(services["worker"]).ContainsKey("ports"));
        Assert.All(services.Values, s => Assert.False(Map(s).ContainsKey("container_name")));
        // Counts and coins survive a restart of the store.
        var redis = Map(services["redis"]);
        Assert.Equal("redis-server --appendonly yes --appendfsync always", string.Join(' ', List(redis["command"])));
        Assert.Contains(List(redis["volumes"]), v => v.EndsWith(":/data:rw", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheLiveEditMountReachesTheFolderTheWebUIServes()
    {
        var services = await ServicesAsync("compose.yaml");
        var volume = Assert.Single(List(Map(services["webui"])["volumes"]));
        var parts = volume.Split(':');

        Assert.Equal(Repo.PathOf("src/RamCoin.WebUI/files"), parts[0]);
        Assert.True(File.Exists(Path.Combine(parts[0], "index.html")), "the mounted folder holds the page");
        Assert.Equal(DockerfileTests.WebUIFilesFolder(), parts[1]);
        // The same files are what the project publishes into that folder of the image.
        Assert.Contains(@"Include=""files\**"" Link=""webui\", Repo.Read("src/RamCoin.WebUI/RamCoin.WebUI.csproj"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheImagesFileNamesEveryImageByRegistryAndTag()
    {
        var services = await ServicesAsync("compose.images.yaml");

        Assert.Equal(DockerCoinsServices, services.Keys.Order());
        foreach (var name in BuiltServices)
        {
            var service = Map(services[name]);
            Assert.Equal($"{Registry}/{name}:{Tag}", (string)service["image"]);
            Assert.Equal(name, (string)Map(service["build"])["target"]);
            Assert.Equal(Tag, (string)Map(Map(service["build"])["args"])["VERSION"]);
        }

        var registry = Map((await ServicesAsync("compose.registry.yaml"))["registry"]);
        Assert.StartsWith("registry:2", (string)registry["image"], StringComparison.Ordinal);
        // Plain HTTP without a login: on this machine's loopback only, as the README's flow uses it.
        Assert.Equal(["127.0.0.1:5000:5000/tcp"], List(registry["ports"]));
    }

    [Fact]
    public async Task TheGarnetOverlayBuildsTheStoreImageOnItsVolume()
    {
        var redis = Map((await ServicesAsync("compose.yaml", "compose.garnet.yaml"))["redis"]);

        Assert.Equal(ServiceNames.Store, (string)Map(redis["build"])["target"]);
        // The store's own program: compose.yaml's redis-server command is replaced by configuration for it.
        Assert.Equal(["--RAMCOIN_DATA_DIR=/data"], List(redis["command"]));
        Assert.Equal(["garnet-data:/data:rw"], List(redis["volumes"]));
    }

    [Fact]
    public async Task TheGarnetOverlayGivesTheStoreAPasswordThatTheWorkerAndWebUISendAndWillNotRunWithoutOne()
    {
        var services = await ServicesAsync("compose.yaml", "compose.garnet.yaml");
        var compose = Repo.RequireTool("docker-compose", "docker-compose");
        var withoutPassword = new Dictionary<string, string?>(Environment()) { ["REDIS_PASSWORD"] = null };

        var refused = await Repo.RunAsync(compose, ["-f", "compose.yaml", "-f", "compose.garnet.yaml", "config", "-q"], withoutPassword);

        // The store image listens on the network (RAMCOIN_BIND=0.0.0.0) and refuses to do so without a password.
        foreach (var service in new[] { "redis", "worker", "webui" })
        {
            Assert.Equal(StorePassword, (string)Map(Map(services[service])["environment"])["REDIS_PASSWORD"]);
        }

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("set REDIS_PASSWORD for the Garnet store", refused.Error, StringComparison.Ordinal);
        // The classic file keeps DockerCoins' store without a password: it needs none set.
        Assert.Equal(0, (await Repo.RunAsync(compose, ["-f", "compose.yaml", "config", "-q"], withoutPassword)).ExitCode);
    }

    [Fact]
    public async Task TheSwarmStackRunsRngGloballyWithHealthChecksAndAutomaticRollback()
    {
        var resolved = await ConfigAsync("deploy/swarm/stack.yaml");
        var services = Map(resolved["services"]);

        Assert.Equal(DockerCoinsServices, services.Keys.Order());
        Assert.Equal("overlay", (string)Map(Map(resolved["networks"])["ramcoin"])["driver"]);
        Assert.Equal("global", (string)Map(Map(services["rng"])["deploy"])["mode"]);
        foreach (var (key, value) in services)
        {
            var name = (string)key;
            var service = Map(value);
            var deploy = Map(service["deploy"]);
            var update = Map(deploy["update_config"]);
            Assert.Equal("rollback", (string)update["failure_action"]);
            Assert.True(deploy.ContainsKey("rollback_config"), $"{name} has a rollback_config");
            Assert.Equal(["ramcoin"], Map(service["networks"]).Keys);
            var test = List(Map(service["healthcheck"])["test"]);
            Assert.Equal("CMD", test[0]);
            if (name == "redis")
            {
                Assert.Equal(["redis-cli", "ping"], test[1..]);
                continue;
            }

            // The health check runs the image's own binary: the chiseled images have no curl.
            Assert.Equal($"{Registry}/{name}:{Tag}", (string)service["image"]);
            Assert.Equal([.. DockerfileTests.EntryPoint(name), "healthcheck"], test[1..]);
        }

        Assert.Equal("stop-first", (string)Map(Map(Map(services["redis"])["deploy"])["update_config"])["order"]);
        Assert.False(Map(Map(services["worker"])["deploy"]).ContainsKey("mode"));
        Assert.Equal("10s", (string)Map(services["worker"])["stop_grace_period"]);
    }

    private const string StorePassword = "s3cret-store-password";

    private static Dictionary<string, string?> Environment() =>
        new() { ["REGISTRY"] = Registry, ["TAG"] = Tag, ["RAMCOIN_PROFILE"] = "classic", ["REDIS_PASSWORD"] = StorePassword };

    private static async Task<Dictionary<object, object>> ServicesAsync(params string[] files) => Map((await ConfigAsync(files))["services"]);

    private static async Task<Dictionary<object, object>> ConfigAsync(params string[] files)
    {
        var compose = Repo.RequireTool("docker-compose", "docker-compose");
        var result = await Repo.RunAsync(compose, [.. files.SelectMany(f => new[] { "-f", f }), "config"], Environment());
        Assert.True(result.ExitCode == 0, result.Describe());
        Ct.ThrowIfCancellationRequested();
        return Map(new DeserializerBuilder().Build().Deserialize<object>(result.Output));
    }

    private static Dictionary<object, object> Map(object value) => Assert.IsType<Dictionary<object, object>>(value);

    private static List<string> List(object value) => [.. Assert.IsType<List<object>>(value).Select(v => v.ToString()!)];

    private static List<(int Published, int Target)> Ports(object service) =>
        [.. Assert.IsType<List<object>>(Map(service)["ports"]).Select(p => Map(p)).Select(p => (int.Parse((string)p["published"], System.Globalization.CultureInfo.InvariantCulture), int.Parse((string)p["target"], System.Globalization.CultureInfo.InvariantCulture)))];
}
