using System.CommandLine.Invocation;
using RamCoin;

var parsed = LauncherCommand.Create().Parse(args);
if (parsed.Action is ParseErrorAction parseError)
{
    // A mistyped option gets its one-line error, not a page of help, and exit code 2 (bad usage), as a bad setting does:
    // 1 means a service that failed, or a lab check that did not pass.
    parseError.ShowHelp = false;
    await parsed.InvokeAsync(LauncherCommand.Invocation);
    return 2;
}

return await parsed.InvokeAsync(LauncherCommand.Invocation);
