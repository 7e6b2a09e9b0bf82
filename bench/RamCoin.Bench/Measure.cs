using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using RamCoin.Hosting;

namespace RamCoin.Bench;

/// <summary>A child process the harness started, and what /proc says about its CPU and memory.</summary>
public sealed class Child : IAsyncDisposable
{
    private readonly Process _process;
    private (double Cpu, DateTime At) _mark;

    private readonly bool _group;

    public Child(string name, string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        Name = name;
        _group = file == "setsid";
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // A service decides its own socket mode (HostingOptions.RunsInline), whatever the bench chose for itself.
        info.Environment.Remove(HostingOptions.InlineCompletions);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        _process = Process.Start(info)!;
        // Drain the output so that a chatty child never blocks on a full pipe.
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { LastError = e.Data; } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    public string? LastError { get; private set; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public double CpuSeconds() => ProcStat.CpuSeconds(Pid);

    public double RssMiB() => ProcStat.RssMiB(Pid);

    /// <summary>A shell command in its own session (setsid), so that stopping it stops everything it started.</summary>
    public static Child Shell(string name, string command) => new(name, "setsid", ["bash", "-c", command]);

    public void MarkCpu() => _mark = (CpuSeconds(), DateTime.UtcNow);

    /// <summary>CPU used since <see cref="MarkCpu"/>, in cores (1.0 = one core busy).</summary>
    public double CoresSinceMark() => CpuSecondsSinceMark() / (DateTime.UtcNow - _mark.At).TotalSeconds;

    public double CpuSecondsSinceMark() => CpuSeconds() - _mark.Cpu;

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // A shell command runs in its own session: stop all it started, not just the shell.
            using var kill = Process.Start("kill", _group ? ["-TERM", "--", "-" + Pid.ToString(CultureInfo.InvariantCulture)] : ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }
}

/// <summary>What /proc says about a process's CPU and memory.</summary>
public static class ProcStat
{
    /// <summary>CPU seconds used so far (user + system), from /proc/&lt;pid&gt;/stat.</summary>
    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    public static double RssMiB(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(Regex.Match(line, @"\d+").Value, CultureInfo.InvariantCulture) / 1024.0;
    }
}

public static class Wrk
{
    /// <summary>Requests per second from <c>wrk -t2 -c16</c> (the issue's reference load), GET or a 32-byte POST.</summary>
    public static async Task<double> RateAsync(string url, bool post, int seconds)
    {
        var args = new List<string> { "-t2", "-c16", $"-d{seconds}s" };
        string? script = null;
        if (post)
        {
            script = Path.Combine(Path.GetTempPath(), "ramcoin-bench-post.lua");
            await File.WriteAllTextAsync(script, "wrk.method = \"POST\"\nwrk.body = string.rep(\"x\", 32)\nwrk.headers[\"Content-Type\"] = \"application/octet-stream\"\n");
            args.AddRange(["-s", script]);
        }

        args.Add(url);
        var info = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true };
        args.ForEach(info.ArgumentList.Add);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("wrk did not start (apt-get install -y wrk)");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var rate = Regex.Match(output, @"Requests/sec:\s+([\d.]+)");
        var total = Regex.Match(output, @"(\d+) requests in");
        var errors = Regex.Match(output, @"Non-2xx or 3xx responses: (\d+)");
        var failed = errors.Success ? long.Parse(errors.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var requests = total.Success ? long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        // A stray error (DockerCoins' hasher drops one in thousands under load) is discounted; more is a failed run.
        if (!rate.Success || requests == 0 || failed * 100 > requests)
        {
            throw new InvalidOperationException($"wrk {string.Join(' ', args)}: {output}");
        }

        if (failed > 0)
        {
            Console.WriteLine($"ramcoin-bench: {url}: {failed} of {requests} answers were errors; counted are the others.");
        }

        return double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture) * (requests - failed) / requests;
    }
}

public static class Stats
{
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

public static class Ports
{
    private static int _next = 31000 + (Environment.ProcessId % 500) * 20;

    public static int Next()
    {
        while (true)
        {
            var port = Interlocked.Increment(ref _next);
            try
            {
                using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
            }
        }
    }
}
