namespace RamCoin.Tests.Infrastructure;

/// <summary>
/// The <c>ramcoin</c> program run in the test's own process: what its Program.cs runs (<see cref="LauncherCommand.RunAsync"/>),
/// with <paramref name="environment"/> instead of the process's variables. A child process costs about 0.6 s of CPU to start;
/// this costs milliseconds. <see cref="LauncherProcess"/> keeps the runs that need a process of their own (signals, logs,
/// exit codes end to end).
/// </summary>
public static class LauncherInProcess
{
    /// <summary>Runs to the end (a run that does not stop by itself is cancelled after <paramref name="timeoutSeconds"/>).</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(
        IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null, int timeoutSeconds = 20)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        // Synchronized: the services write from their own threads.
        var exitCode = await LauncherCommand.RunAsync(
            [.. args], TextWriter.Synchronized(output), TextWriter.Synchronized(error), environment ?? new Dictionary<string, string?>(), timeout.Token);
        return (exitCode, output.ToString(), error.ToString());
    }
}
