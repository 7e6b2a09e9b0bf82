using System.Text.RegularExpressions;

namespace RamCoin.Tests;

/// <summary>How the tests are run: `dotnet test` at the root (the README's command, which CI runs) runs every project.</summary>
public sealed partial class TestLayoutTests
{
    [Fact]
    public void TheSolutionListsEveryTestProjectSoThatDotnetTestRunsThemAll()
    {
        var listed = ProjectPath().Matches(Repo.Read("RamCoin.slnx")).Select(m => m.Groups[1].Value).ToHashSet();
        var projects = Repo.SourceFiles("*.csproj").Select(p => p.Replace(Path.DirectorySeparatorChar, '/')).Where(p => p.StartsWith("tests/", StringComparison.Ordinal)).ToList();

        Assert.Contains("tests/RamCoin.Tests/RamCoin.Tests.csproj", projects);
        Assert.Contains("tests/RamCoin.Faults.Tests/RamCoin.Faults.Tests.csproj", projects);
        Assert.Contains("tests/RamCoin.Deployment.Tests/RamCoin.Deployment.Tests.csproj", projects);
        Assert.All(projects, p => Assert.Contains(p, listed));
    }

    [Fact]
    public void CiRunsTheProjectsOneAfterTheOtherAndCountsThemAll()
    {
        var run = Repo.Read(".ci/run");

        // Side by side, the engine's image builds would load the machine under the fast project's timed tests.
        Assert.Contains("dotnet test --max-parallel-test-modules 1 \"$@\"", run, StringComparison.Ordinal);
        // The overall summary closes the output, after any per-project lines: the last match counts every project.
        Assert.Contains("| tail -n 1 |", run, StringComparison.Ordinal);
    }

    [Fact]
    public void TheReadmesFirstScreenHasTheTwoCommandsAndItsTestCommandIsWhatCiRuns()
    {
        var readme = Repo.Read("README.md");
        var firstScreen = string.Join('\n', readme.Split('\n').Take(30));
        var block = FirstCommandBlock().Match(firstScreen);
        Assert.True(block.Success, "the README's first 30 lines hold a sh block");
        var commands = block.Groups[1].Value.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(" #")[0].Trim()).ToList();

        Assert.Equal(["dotnet run --project src/RamCoin", "dotnet test --max-parallel-test-modules 1"], commands);
        Assert.Contains(commands[1] + " \"$@\"", Repo.Read(".ci/run"), StringComparison.Ordinal);
        Assert.Contains(commands[1], Repo.Read("docs/testing.md"), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^```sh\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FirstCommandBlock();

    [GeneratedRegex(@"<Project Path=""([^""]+)""")]
    private static partial Regex ProjectPath();
}
