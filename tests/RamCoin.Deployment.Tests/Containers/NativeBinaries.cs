using System.Runtime.InteropServices;
using RamCoin.Tests.Engine;

namespace RamCoin.Tests.Containers;

/// <summary>
/// The four services' Native AOT binaries that run inside the images: copied out of the Dockerfile's own publish
/// stage where the real engine runs (the image builds compile them anyway, so nothing is compiled twice), else
/// published on this machine as that stage does it (Release, the machine's linux RID, no debug files). With the
/// real-engine tests, alone after the parallel tests: the compiler takes both cores, and these tests time starts.
/// </summary>
public sealed class NativeBinaries(DockerEngine engine) : IAsyncLifetime
{
    private readonly Dictionary<string, string> _binaries = [];
    private string? _missing;
    private string? _failure;

    public string Folder { get; } = Path.Combine(AppContext.BaseDirectory, "aot");

    public static string RuntimeId => "linux-" + (RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "x64");

    /// <summary>The path of a service's native binary; skips when the AOT toolchain is missing.</summary>
    public string Binary(string service)
    {
        if (_missing is not null)
        {
            Assert.Skip(_missing);
        }

        Assert.True(_failure is null, _failure);
        return _binaries[service];
    }

    public async ValueTask InitializeAsync()
    {
        if (engine.Usable)
        {
            var watch = Stopwatch.StartNew();
            await engine.CopyPublishedAsync(Folder);
            foreach (var (service, project) in ServiceProjects.ByService)
            {
                _binaries[service] = Path.Combine(Folder, service, project);
            }

            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"AOT binaries copied from the Dockerfile's publish stage: {watch.Elapsed.TotalSeconds:F0} s"));
            return;
        }

        // Native AOT links with clang against zlib (the SDK's aot images have both).
        if (!File.Exists("/usr/bin/clang") || !File.Exists("/usr/include/zlib.h"))
        {
            _missing = "Native AOT needs clang and zlib1g-dev: run 'apt-get install -y clang zlib1g-dev' (bash .ci/run installs them).";
            return;
        }

        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        // The test run's MSBuild settings must not leak into a separate publish.
        var environment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(k => k, _ => (string?)null);
        foreach (var (service, project) in ServiceProjects.ByService)
        {
            var output = Path.Combine(Folder, service);
            var watch = Stopwatch.StartNew();
            var result = await Repo.RunAsync(
                dotnet,
                ["publish", $"src/{project}/{project}.csproj", "-c", "Release", "-r", RuntimeId, "-p:DebugType=none", "-o", output, "--disable-build-servers", "-nologo"],
                environment,
                timeoutSeconds: 600);
            if (result.ExitCode != 0)
            {
                _failure = $"dotnet publish {project} (Native AOT) failed: {result.Describe()}";
                return;
            }

            _binaries[service] = Path.Combine(output, project);
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"AOT publish {service}: {watch.Elapsed.TotalSeconds:F0} s"));
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
