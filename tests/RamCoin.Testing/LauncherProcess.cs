using System.Text;

namespace RamCoin.Tests.Infrastructure;

/// <summary>
/// A real program in a child process, as people run it: the <c>ramcoin</c> launcher, or one service's
/// Native AOT binary.
/// </summary>
public sealed class LauncherProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _name;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    private LauncherProcess(Process process, string name)
    {
        _process = process;
        _name = name;
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public Process Process => _process;

    public int ExitCode => _process.ExitCode;

    public static LauncherProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        StartProgram(
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet",
            [Path.Combine(AppContext.BaseDirectory, "ramcoin.dll"), .. args],
            environment,
            "ramcoin");

    /// <summary>
    /// The launcher in a network namespace of its own (<c>unshare -n</c>: loopback only, and down), for runs that bind
    /// beyond loopback: nothing they open is reachable from any network, even when the check under test is missing.
    /// </summary>
    public static LauncherProcess StartIsolated(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        StartProgram(
            "unshare",
            ["-n", Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", Path.Combine(AppContext.BaseDirectory, "ramcoin.dll"), .. args],
            environment,
            "ramcoin (own network namespace)");

    /// <summary>Skips a test that needs <c>unshare -n</c> (root, util-linux) where it is not available.</summary>
    public static void RequireIsolation()
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/unshare"))
        {
            Assert.Skip("needs root and unshare (util-linux) for a network namespace of its own (bash .ci/run runs as root).");
        }
    }

    public static LauncherProcess StartProgram(string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, string displayName)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var launcher = new LauncherProcess(new Process { StartInfo = info }, displayName);
        launcher._process.OutputDataReceived += (_, e) => Append(launcher._output, e.Data);
        launcher._process.ErrorDataReceived += (_, e) => Append(launcher._error, e.Data);
        launcher._process.Start();
        launcher._process.BeginOutputReadLine();
        launcher._process.BeginErrorReadLine();
        return launcher;
    }

    public Task WaitForOutputAsync(string text, int timeoutSeconds = 30) =>
        Eventually.TrueAsync(
            () => Output.Contains(text, StringComparison.Ordinal) || _process.HasExited,
            $"{_name} prints '{text}'",
            timeoutSeconds)
        .ContinueWith(
            t =>
            {
                t.GetAwaiter().GetResult();
                Assert.False(_process.HasExited, $"{_name} exited with {(_process.HasExited ? _process.ExitCode : 0)}: {Error}");
            },
            TaskScheduler.Default);

    /// <summary>Sends SIGTERM, as <c>docker stop</c> and Kubernetes do.</summary>
    public void Terminate()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (builder)
        {
            builder.AppendLine(line);
        }
    }
}
