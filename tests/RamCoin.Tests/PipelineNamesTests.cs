namespace RamCoin.Tests;

/// <summary>deploy/ci/pipeline.sh's checks of the names it is given (its steps run in RamCoin.Deployment.Tests).</summary>
public sealed class PipelineNamesTests
{
    [Fact]
    public async Task AGlobInServicesIsABadNameNotTheFilesItMatches()
    {
        // A folder whose only file is named like a service: "*" expanded there became "rng" and passed the check.
        var folder = Directory.CreateTempSubdirectory("ramcoin-glob-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "rng"), "", Ct);

            // A bad TAG too: checked after the names, so the run stops before any step whichever check refuses.
            var run = await Repo.RunAsync(
                "sh", [Repo.PathOf("deploy/ci/pipeline.sh"), "render"],
                new Dictionary<string, string?> { ["SERVICES"] = "*", ["TAG"] = "bad tag" }, timeoutSeconds: 30, workingDirectory: folder.FullName);

            Assert.True(run.ExitCode == 2, run.Describe());
            Assert.Contains("bad name '*'", run.Error, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
