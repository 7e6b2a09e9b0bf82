using System.Diagnostics;
using System.Text;

namespace RamCoin.Tests.Infrastructure;

/// <summary>The real <c>ramcoin</c> program in a child process, as people run it.</summary>
public sealed class LauncherProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    private LauncherProcess(Process process) => _process = process;

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

    public static LauncherProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ramcoin.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var launcher = new LauncherProcess(new Process { StartInfo = info });
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
            $"ramcoin prints '{text}'",
            timeoutSeconds)
        .ContinueWith(
            t =>
            {
                t.GetAwaiter().GetResult();
                Assert.False(_process.HasExited, $"ramcoin exited with {(_process.HasExited ? _process.ExitCode : 0)}: {Error}");
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
