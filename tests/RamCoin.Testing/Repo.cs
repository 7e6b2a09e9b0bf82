using System.Text;

namespace RamCoin.Tests.Infrastructure;

/// <summary>The repository the tests run from, and the command-line tools that check its deployment files.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    public static string Read(string relative) => File.ReadAllText(PathOf(relative));

    /// <summary>The repository's own files matching a pattern, relative to the root: no build output or git internals.</summary>
    public static IEnumerable<string> SourceFiles(string pattern) =>
        Directory.EnumerateFiles(Root, pattern, SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Root, f))
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj" or "out" or "node_modules" or ".git"));

    /// <summary>Skips with the reason when a tool is missing (bash .ci/run installs it and fails on skips).</summary>
    public static string RequireTool(string tool, string package) =>
        RequireToolWithHint(tool, $"run 'apt-get install -y {package}' (bash .ci/run installs it)");

    public static string RequireToolWithHint(string tool, string installHint)
    {
        var path = Environment.GetEnvironmentVariable("PATH")?.Split(':')
            .Select(d => Path.Combine(d, tool))
            .FirstOrDefault(File.Exists);
        if (path is null)
        {
            Assert.Skip($"{tool} is not installed: {installHint}.");
        }

        return path!;
    }

    /// <summary>Runs a tool to the end (bounded), in the repository root, and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(
        string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, int timeoutSeconds = 120, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Root,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            // null removes a variable the tests' own process has.
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', info.ArgumentList)} took over {timeoutSeconds} s");
        }

        return (process.ExitCode, await output, await error);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RamCoin.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the tests run outside the RamCoin repository (no RamCoin.slnx above " + AppContext.BaseDirectory + ")");
    }

    public static string Describe(this (int ExitCode, string Output, string Error) result) =>
        new StringBuilder().Append("exit ").Append(result.ExitCode).AppendLine().Append(result.Output).Append(result.Error).ToString();
}
