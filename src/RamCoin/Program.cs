using System.CommandLine.Invocation;
using RamCoin;

var parsed = LauncherCommand.Create().Parse(args);
if (parsed.Action is ParseErrorAction parseError)
{
    // A mistyped option gets its one-line error, not a page of help.
    parseError.ShowHelp = false;
}

return await parsed.InvokeAsync(LauncherCommand.Invocation);
