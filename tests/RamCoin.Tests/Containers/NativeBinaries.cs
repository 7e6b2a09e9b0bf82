using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using RamCoin.ServiceDefaults;
using RamCoin.Tests.Infrastructure;

namespace RamCoin.Tests.Containers;

/// <summary>
/// Alone, after the parallel tests: the Native AOT compiler takes both cores, and these tests time starts.
/// </summary>
[CollectionDefinition(nameof(NativeAot), DisableParallelization = true)]
public sealed class NativeAot : ICollectionFixture<NativeBinaries>;

/// <summary>
/// The four services published Native AOT, exactly as the Dockerfile's publish stage does it (Release, the
/// machine's linux RID, no debug files): the binaries that run inside the images.
/// </summary>
public sealed class NativeBinaries : IAsyncLifetime
{
    public static readonly IReadOnlyDictionary<string, string> Projects = new Dictionary<string, string>
    {
        [ServiceNames.Rng] = "RamCoin.Rng",
        [ServiceNames.Hasher] = "RamCoin.Hasher",
        [ServiceNames.Worker] = "RamCoin.Worker",
        [ServiceNames.WebUI] = "RamCoin.WebUI",
    };

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
        foreach (var (service, project) in Projects)
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
