using k8s.Models;
using RamCoin.Tests.Kubernetes;
using YamlDotNet.Serialization;

namespace RamCoin.Tests.Containers;

/// <summary>
/// The course registry's settings, run in the registry's own program (Debian's docker-registry: distribution 2.8, what
/// registry:2 runs) on a loopback port: with the environment compose.registry.yaml and components/registry give it,
/// nobody can delete an image through its API.
/// </summary>
public sealed class RegistryTests
{
    [Theory]
    [InlineData("compose")]
    [InlineData("kubernetes")]
    public async Task TheRegistryRefusesToDeleteImages(string file)
    {
        var registry = Repo.RequireTool("docker-registry", "docker-registry");
        var environment = file == "compose" ? await ComposeEnvironmentAsync() : await KubernetesEnvironmentAsync();
        Assert.Equal("false", environment["REGISTRY_STORAGE_DELETE_ENABLED"]);
        var port = FreePort.Next();
        var folder = Directory.CreateTempSubdirectory("ramcoin-registry-");
        // The package's default configuration turns deletes on: the file's environment must win over it.
        var config = Path.Combine(folder.FullName, "config.yml");
        File.WriteAllText(config, $"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {folder.FullName}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n");
        var start = new ProcessStartInfo(registry, ["serve", config]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(5) };
            await Eventually.TrueAsync(
                async () =>
                {
                    try
                    {
                        return (await http.GetAsync("v2/", Ct)).IsSuccessStatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                "the registry answers /v2/");

            using var delete = await http.DeleteAsync($"v2/rng/manifests/sha256:{new string('0', 64)}", Ct);

            // With deletes on, this would be 404 MANIFEST_UNKNOWN (the digest is made up): the API itself is refused.
            Assert.Equal(System.Net.HttpStatusCode.MethodNotAllowed, delete.StatusCode);
            Assert.Contains("UNSUPPORTED", await delete.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync(Ct);
            folder.Delete(recursive: true);
        }
    }

    private static async Task<Dictionary<string, string>> ComposeEnvironmentAsync()
    {
        var compose = Repo.RequireTool("docker-compose", "docker-compose");
        var result = await Repo.RunAsync(compose, ["-f", "compose.registry.yaml", "config"]);
        Assert.True(result.ExitCode == 0, result.Describe());
        var resolved = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(result.Output);
        var registry = Assert.IsType<Dictionary<object, object>>(Assert.IsType<Dictionary<object, object>>(resolved["services"])["registry"]);
        var environment = Assert.IsType<Dictionary<object, object>>(registry["environment"]);
        return environment.ToDictionary(e => (string)e.Key, e => (string)e.Value);
    }

    private static async Task<Dictionary<string, string>> KubernetesEnvironmentAsync()
    {
        var objects = await Manifests.RenderAsync("classic", ["registry"]);
        var container = Assert.Single(objects.Workloads().Single(w => w.App == "registry").Containers);
        return (container.Env ?? []).Where(e => e.Value is not null).ToDictionary(e => e.Name, e => e.Value);
    }
}
