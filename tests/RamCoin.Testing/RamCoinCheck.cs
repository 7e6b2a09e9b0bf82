namespace RamCoin.Tests.Infrastructure;

/// <summary><c>ramcoin check</c> run as the command runs it, in this process: its exit code and everything it printed.</summary>
public static class RamCoinCheck
{
    public static Task<(int ExitCode, string Output)> RunAsync(string lesson, RunningService webui, params string[] more) =>
        RunAsync(["check", lesson, "--webui", webui.Address.ToString(), .. more]);

    public static async Task<(int ExitCode, string Output)> RunAsync(string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await LauncherCommand.Create(output, error).Parse(args).InvokeAsync(cancellationToken: TestContext.Current.CancellationToken);
        return (exit, output.ToString() + error);
    }
}
