using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using RamCoin.Hosting;

namespace RamCoin.Bench;

public sealed record ViewersOptions(IReadOnlyList<int> Counts, int Seconds, Uri? Url, int? Pid, int ConnectSeconds, int Parallel, ViewerClient Client = ViewerClient.Socket);

/// <summary>How the bench's viewers read their streams.</summary>
public enum ViewerClient
{
    /// <summary>A plain socket each: the request written by hand, the answer read as it arrives (<see cref="EventStreamBytes"/>).</summary>
    Socket,

    /// <summary>HttpClient and SseParser each: what a .NET program would use, at several times the CPU per event.</summary>
    Http,
}

/// <summary>One count of viewers: how many got a stream, what each received, and what the web UI process used meanwhile.</summary>
public sealed record ViewersResult(
    int Count, int Connected, int Refused, int Failed, int Dropped, double EventsPerClientSecond, double LagP50Ms, double LagP99Ms,
    double ArrivalP50Ms, double ArrivalP99Ms, long BadEvents, double? RssBefore, double? RssEnd, double? WebUICores, double BenchCores, string Notes);

/// <summary>
/// A classroom on the dashboard: N concurrent <c>GET /events</c> streams against one web UI, each for a bounded time.
/// Lag is the client's receive time minus the event's own <c>now</c> (the server's clock when it sampled the store;
/// client and server share this machine's clock). The first event of a stream is the last sample replayed at
/// connect, so it counts for "connected" but not for rate or lag.
/// </summary>
public static class Viewers
{
    public const int MaxStreams = 10_000;

    /// <summary>From the last stream's connection to the window's start.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(ViewersOptions options, CancellationToken cancellationToken)
    {
        if (options.Counts.Count == 0 || options.Counts.Any(n => n is < 1 or > MaxStreams))
        {
            Console.Error.WriteLine($"ramcoin-bench viewers: --counts: each count must be from 1 to {MaxStreams:N0}.");
            return 2;
        }

        if (options.Seconds is < 1 or > 600 || options.ConnectSeconds is < 1 or > 300 || options.Parallel is < 1 or > 1000)
        {
            Console.Error.WriteLine("ramcoin-bench viewers: --seconds must be 1-600, --connect-seconds 1-300, --parallel 1-1000.");
            return 2;
        }

        // Each stream is one socket here and one in the web UI; a launcher started below inherits this limit.
        FileLimit.Raise(options.Counts.Max() + 200);
        if (options.Client == ViewerClient.Socket)
        {
            // Each read's continuation on the socket thread, not a hop through the thread pool: the bench's share
            // of the 2 cores at 10,000 streams went from 0.22 to 0.15 cores, time the web UI's sends get back. A
            // classroom's laptops each read their own stream; the fewer cycles the bench takes, the more the lag
            // is the web UI's. Set before the first socket (the engine reads it once); the launcher does not inherit it.
            Environment.SetEnvironmentVariable(HostingOptions.InlineCompletions, "1");
        }

        Child? launcher = null;
        try
        {
            Uri url;
            int? pid;
            if (options.Url is { } given)
            {
                (url, pid) = (given, options.Pid);
                if (pid is int p && !File.Exists($"/proc/{p}/status"))
                {
                    Console.Error.WriteLine($"ramcoin-bench viewers: --pid: no process {p} here.");
                    return 2;
                }

                if (pid is int q)
                {
                    FileLimit.WarnIfLow(q, options.Counts.Max() + 200);
                    WarnIfWrapper(q);
                }
            }
            else
            {
                (launcher, url) = await StartLauncherAsync();
                pid = launcher.Pid;
                // Past the start's JIT and first store connections, so that the first count measures streams, not the start.
                await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken);
            }

            Console.WriteLine($"ramcoin-bench viewers: {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}; {url}events; web UI pid {(pid is int w ? w.ToString(Inv) : "not given (no RSS)")}; {options.Seconds} s per count.");
            var results = new List<ViewersResult>();
            foreach (var count in options.Counts)
            {
                Console.WriteLine($"ramcoin-bench viewers: {count:N0} streams (at most {options.ConnectSeconds} s to connect, {options.Parallel} connecting at once) ...");
                results.Add(await MeasureAsync(count, new Uri(url, "events"), pid, options, cancellationToken));
                if (launcher is { HasExited: true })
                {
                    Console.Error.WriteLine($"ramcoin-bench viewers: the launcher exited: {launcher.LastError}");
                    break;
                }
            }

            Console.Write(Report(results, options));
            return 0;
        }
        finally
        {
            if (launcher is not null)
            {
                await launcher.DisposeAsync();
            }
        }
    }

    /// <summary>The all-in-one launcher in the classic profile, as the harness starts it: free ports, in memory, the launch profile's settings.</summary>
    private static async Task<(Child Launcher, Uri Url)> StartLauncherAsync()
    {
        var root = Harness.RepoRoot();
        Console.WriteLine("ramcoin-bench viewers: building the launcher (Release) ...");
        await Harness.ShAsync("dotnet", ["build", Path.Combine(root, "src/RamCoin/RamCoin.csproj"), "-c", "Release", "-nologo", "-v", "q", "--disable-build-servers"]);
        var launcher = Path.Combine(root, "src/RamCoin/bin/Release/net10.0/ramcoin.dll");
        var web = Ports.Next();
        string[] args = [launcher, "--profile", "classic", "--in-memory", "--webui-port", Str(web), "--rng-port", Str(Ports.Next()),
            "--hasher-port", Str(Ports.Next()), "--worker-port", Str(Ports.Next()), "--store-port", Str(Ports.Next())];
        var child = new Child("ramcoin (all five, classic)", "dotnet", args, Harness.LaunchSettings(root));
        var url = new Uri($"http://127.0.0.1:{web}/");
        // dashboard.json answers once the first sample of the store is taken: from then on a stream gets an event at once.
        await Harness.WaitForUrlAsync(child, url + "dashboard.json");
        return (child, url);
    }

    private static async Task<ViewersResult> MeasureAsync(int count, Uri events, int? pid, ViewersOptions options, CancellationToken cancellationToken)
    {
        var rssBefore = pid is int p ? ProcStat.RssMiB(p) : (double?)null;
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = int.MaxValue,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(options.ConnectSeconds),
        };
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var gate = new SemaphoreSlim(options.Parallel);
        var window = new Window();
        var viewers = Enumerable.Range(0, count).Select(_ => new Viewer()).ToArray();
        var connectTimeout = TimeSpan.FromSeconds(options.ConnectSeconds);
        var server = new IPEndPoint((await Dns.GetHostAddressesAsync(events.Host, cancellationToken))[0], events.Port);
        var request = Encoding.ASCII.GetBytes($"GET {events.PathAndQuery} HTTP/1.1\r\nHost: {events.Authority}\r\nAccept: text/event-stream\r\n\r\n");
        var tasks = viewers.Select(v => options.Client == ViewerClient.Socket
            ? v.RunOnSocketAsync(server, request, gate, window, connectTimeout, stop.Token)
            : v.RunAsync(http, events, gate, window, connectTimeout, stop.Token)).ToArray();

        // Connect: until every stream has its first event or failed, bounded by --connect-seconds.
        var connecting = Stopwatch.StartNew();
        while (viewers.Any(v => v.State == ViewerState.Pending) && connecting.Elapsed < TimeSpan.FromSeconds(options.ConnectSeconds))
        {
            await Task.Delay(100, cancellationToken);
        }

        var connectedAt = connecting.Elapsed.TotalSeconds;
        // The first ticks after thousands of connections also carry their aftermath (their garbage, the new code
        // paths' JIT): one such tick is 1/15 of a window's lags and sets its p99 alone. A lesson's steady state is measured.
        await Task.Delay(Settle, cancellationToken);
        var cpuBefore = pid is int c ? ProcStat.CpuSeconds(c) : 0;
        var benchBefore = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var started = Stopwatch.StartNew();
        window.Open = true;
        await Task.Delay(TimeSpan.FromSeconds(options.Seconds), cancellationToken);
        window.Open = false;
        var elapsed = started.Elapsed.TotalSeconds;
        var cores = pid is int e ? (ProcStat.CpuSeconds(e) - cpuBefore) / elapsed : (double?)null;
        var benchCores = (Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - benchBefore) / elapsed;
        var rssEnd = pid is int r ? ProcStat.RssMiB(r) : (double?)null;

        // Close everything before the next count, and give the server a moment to see the connections go.
        await stop.CancelAsync();
        await Task.WhenAny(Task.WhenAll(tasks), Task.Delay(TimeSpan.FromSeconds(15), cancellationToken));
        http.Dispose();
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);

        var connected = viewers.Where(v => v.ConnectedBeforeWindow).ToArray();
        var lags = connected.SelectMany(v => v.Lags).Order().ToArray();
        var arrivals = connected.SelectMany(v => v.ArrivalLags).Order().ToArray();
        var refusals = viewers.Where(v => v.State == ViewerState.Refused).GroupBy(v => v.Status).OrderBy(g => g.Key).Select(g => $"{g.Key} × {g.Count():N0}");
        var failures = viewers.Where(v => v.State is ViewerState.Failed or ViewerState.Pending)
            .GroupBy(v => v.State == ViewerState.Pending ? $"no first event in {options.ConnectSeconds} s" : v.Error).OrderByDescending(g => g.Count()).Take(3)
            .Select(g => $"{g.Key} × {g.Count():N0}");
        var notes = string.Join("; ", new[] { $"all connected or failed after {connectedAt:F1} s" }.Concat(refusals).Concat(failures));
        return new ViewersResult(
            count,
            connected.Length,
            viewers.Count(v => v.State == ViewerState.Refused),
            viewers.Count(v => v.State is ViewerState.Failed or ViewerState.Pending),
            connected.Count(v => v.DroppedInWindow),
            connected.Length == 0 ? 0 : connected.Sum(v => v.WindowEvents) / (double)connected.Length / elapsed,
            Percentile(lags, 0.50) * 1000,
            Percentile(lags, 0.99) * 1000,
            Percentile(arrivals, 0.50) * 1000,
            Percentile(arrivals, 0.99) * 1000,
            viewers.Sum(v => v.BadEvents),
            rssBefore,
            rssEnd,
            cores,
            benchCores,
            notes);
    }

    private static string Report(List<ViewersResult> results, ViewersOptions options)
    {
        static string Opt(double? value, string format) => value is double v ? v.ToString(format, Inv) : "";
        static double? Ms(double value) => double.IsNaN(value) ? null : value;
        var report = new StringBuilder();
        report.AppendLine();
        report.AppendLine(Inv, $"## RamCoin web UI viewers, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {options.Seconds} s per count, {options.Client.ToString().ToLowerInvariant()} client");
        report.AppendLine();
        report.AppendLine("| streams | connected | refused | failed | events/client/s | lag p50 ms | lag p99 ms | read lag p50 ms | read lag p99 ms | web UI RSS MiB before → end | web UI CPU cores | bench CPU cores |");
        report.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
        foreach (var r in results)
        {
            report.AppendLine(Inv, $"| {r.Count:N0} | {r.Connected:N0} | {r.Refused:N0} | {r.Failed:N0} | {r.EventsPerClientSecond:F2} | {Opt(Ms(r.ArrivalP50Ms), "F1")} | {Opt(Ms(r.ArrivalP99Ms), "F1")} | {Opt(Ms(r.LagP50Ms), "F1")} | {Opt(Ms(r.LagP99Ms), "F1")} | {Opt(r.RssBefore, "F0")} → {Opt(r.RssEnd, "F0")} | {Opt(r.WebUICores, "F2")} | {r.BenchCores:F2} |");
        }

        report.AppendLine();
        foreach (var r in results)
        {
            var extra = (r.Dropped > 0 ? $"; {r.Dropped:N0} streams ended by the server during the measurement" : "")
                + (r.BadEvents > 0 ? $"; {r.BadEvents:N0} events without a readable \"now\" (skipped)" : "");
            report.AppendLine(Inv, $"- {r.Count:N0}: {r.Notes}{extra}.");
        }

        report.AppendLine();
        report.AppendLine("connected: a 200 and a first event; refused: any other status (503 once streams are capped); failed: no answer, a reset or no first event in time.");
        report.AppendLine("Lag: the time the event's last bytes reached the viewer's socket (the kernel's stamp, SO_TIMESTAMPNS; the socket client only) minus the event's \"now\"");
        report.AppendLine(Inv, $"(the web UI's clock when it began its store read), over every event of a window that opens {Settle.TotalSeconds:F0} s after the last stream connected. Read lag: the time the bench's read completed instead.");
        report.AppendLine("The bench runs on the same cores as the web UI: its CPU (last column) slows the web UI's sends, which the lag shows, and at thousands of streams it waits for");
        report.AppendLine("a core itself before its reads complete, which only the read lag shows (a classroom's laptops each read their own stream).");
        return report.ToString();
    }

    /// <summary>`timeout`, `env` or `dotnet run` in front of the web UI: the figures would be the wrapper's.</summary>
    private static void WarnIfWrapper(int pid)
    {
        try
        {
            var children = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (children.Length == 1 && ProcStat.RssMiB(pid) < 20)
            {
                Console.WriteLine($"ramcoin-bench viewers: warning: process {pid} ({File.ReadAllText($"/proc/{pid}/comm").Trim()}) is small and has one child, {children[0]}: is --pid the wrapper of the web UI?");
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // A zombie or a process that just ended: its figures will say so.
        }
    }

    private static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static string Str(int value) => value.ToString(Inv);

    /// <summary>The event's <c>now</c> (unix seconds): the first property of the dashboard JSON; NaN when it is missing or not a number.</summary>
    internal static double ParseNow(ReadOnlySpan<byte> data)
    {
        try
        {
            var reader = new Utf8JsonReader(data);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return double.NaN;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isNow = reader.ValueTextEquals("now"u8);
                reader.Read();
                if (isNow)
                {
                    return reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var now) && double.IsFinite(now) ? now : double.NaN;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return double.NaN;
    }

    private sealed class Window
    {
        private volatile bool _open;

        public bool Open { get => _open; set => _open = value; }
    }

    private enum ViewerState
    {
        Pending,
        Connected,
        Refused,
        Failed,
    }

    private sealed class Viewer
    {
        private volatile ViewerState _state;
        private bool _released;

        public ViewerState State => _state;

        public int Status { get; private set; }

        public string Error { get; private set; } = "";

        public bool ConnectedBeforeWindow { get; private set; }

        public bool DroppedInWindow { get; private set; }

        public long WindowEvents { get; private set; }

        public long BadEvents { get; private set; }

        public List<double> Lags { get; } = [];

        /// <summary>The same lags by the kernel's arrival stamp (<see cref="ArrivalStamps"/>); empty with the http client.</summary>
        public List<double> ArrivalLags { get; } = [];

        public Task RunAsync(HttpClient http, Uri url, SemaphoreSlim gate, Window window, TimeSpan connectTimeout, CancellationToken stop) =>
            GuardAsync(gate, window, async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Accept.ParseAdd("text/event-stream");
                HttpResponseMessage response;
                using (var connect = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    connect.CancelAfter(connectTimeout);
                    response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, connect.Token);
                }

                using (response)
                {
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Refuse((int)response.StatusCode);
                        return;
                    }

                    await using var stream = await response.Content.ReadAsStreamAsync(stop);
                    await foreach (var item in SseParser.Create(stream, (_, data) => ParseNow(data)).EnumerateAsync(stop))
                    {
                        Received(item.Data, UnixNow(), double.NaN, gate, window);
                    }
                }
            }, stop);

        /// <summary>
        /// The same over a plain socket: the request written by hand, the answer read as it arrives. The time is taken as
        /// soon as a read completes, before the bytes are parsed.
        /// </summary>
        public Task RunOnSocketAsync(IPEndPoint server, byte[] request, SemaphoreSlim gate, Window window, TimeSpan connectTimeout, CancellationToken stop) =>
            GuardAsync(gate, window, async () =>
            {
                using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                using (var connect = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    connect.CancelAfter(connectTimeout);
                    await socket.ConnectAsync(server, connect.Token);
                }

                await socket.SendAsync(request, SocketFlags.None, stop);
                var answer = new EventStreamBytes();
                // Each viewer its own buffer (80 MB for 10,000): a larger frame comes in several reads.
                var buffer = new byte[8 * 1024];
                var stamped = ArrivalStamps.Enable(socket);
                while (!answer.Ended)
                {
                    int n;
                    var arrived = double.NaN;
                    if (stamped)
                    {
                        // Wait until bytes are there (a zero-byte read takes none), then take them with their stamp.
                        await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, stop);
                        if ((n = ArrivalStamps.Receive(socket, buffer, out arrived)) < 0)
                        {
                            continue;
                        }
                    }
                    else
                    {
                        n = await socket.ReceiveAsync(buffer, SocketFlags.None, stop);
                    }

                    if (n == 0)
                    {
                        break;
                    }

                    var at = UnixNow();
                    if (!answer.Feed(buffer.AsSpan(0, n), data => Received(ParseNow(data), at, arrived, gate, window), out var error))
                    {
                        Fail(error!);
                        return;
                    }

                    if (answer.Status is not (0 or 200))
                    {
                        Refuse(answer.Status);
                        return;
                    }
                }
            }, stop);

        /// <summary>
        /// Waits for a place among the streams connecting at once, reads the stream (<paramref name="read"/> returns
        /// when the server ended it, or after a refusal or failure it recorded), and records how it ended.
        /// </summary>
        private async Task GuardAsync(SemaphoreSlim gate, Window window, Func<Task> read, CancellationToken stop)
        {
            var acquired = false;
            try
            {
                await gate.WaitAsync(stop);
                acquired = true;
                await read();
                if (_state is ViewerState.Pending or ViewerState.Connected)
                {
                    // The server ended the stream.
                    DroppedInWindow = window.Open;
                    if (_state == ViewerState.Pending)
                    {
                        Fail("closed before a first event");
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Closed by the bench at the end of the count.
            }
            catch (Exception ex) when (ex is HttpRequestException or SocketException or IOException or OperationCanceledException)
            {
                DroppedInWindow = _state == ViewerState.Connected && window.Open;
                if (_state == ViewerState.Pending)
                {
                    Fail(ex is OperationCanceledException ? "connect timed out" : Short(ex));
                }
            }
            finally
            {
                // The next stream may connect once this one has its first event, or has none to wait for.
                if (acquired && !_released)
                {
                    gate.Release();
                }
            }
        }

        /// <summary>One event at <paramref name="at"/>: the first connects the viewer (and gives its place to the next), the others count in the window.</summary>
        private void Received(double now, double at, double arrived, SemaphoreSlim gate, Window window)
        {
            if (_state == ViewerState.Pending)
            {
                ConnectedBeforeWindow = !window.Open;
                _state = ViewerState.Connected;
                _released = true;
                gate.Release();
                return;
            }

            if (window.Open)
            {
                WindowEvents++;
                if (double.IsNaN(now))
                {
                    BadEvents++;
                }
                else
                {
                    Lags.Add(at - now);
                    if (!double.IsNaN(arrived))
                    {
                        ArrivalLags.Add(arrived - now);
                    }
                }
            }
        }

        private void Refuse(int status)
        {
            Status = status;
            _state = ViewerState.Refused;
        }

        private static double UnixNow() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;

        private void Fail(string error)
        {
            Error = error;
            _state = ViewerState.Failed;
        }

        private static string Short(Exception ex) => (ex.InnerException ?? ex).Message.Split('\n')[0];
    }
}

/// <summary>The open-file limit (one descriptor per stream): raised to the hard limit, with a warning when that is too low.</summary>
internal static partial class FileLimit
{
    private const int RlimitNofile = 7;

    public static void Raise(int needed)
    {
        var limit = default(Rlimit);
        if (Getrlimit(RlimitNofile, ref limit) != 0)
        {
            return;
        }

        if (limit.Current < limit.Max)
        {
            limit.Current = limit.Max;
            _ = Setrlimit(RlimitNofile, ref limit);
            _ = Getrlimit(RlimitNofile, ref limit);
        }

        if (limit.Current < (ulong)needed)
        {
            Console.WriteLine($"ramcoin-bench viewers: warning: the open-file limit is {limit.Current} and {needed} are needed; run `ulimit -n 65536` (as root) first.");
        }
    }

    /// <summary>A web UI started elsewhere has its own limit: read it from /proc.</summary>
    public static void WarnIfLow(int pid, int needed)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            var soft = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];
            if (soft is not null && long.TryParse(soft, CultureInfo.InvariantCulture, out var value) && value < needed)
            {
                Console.WriteLine($"ramcoin-bench viewers: warning: process {pid} may open {value} files and {needed} streams are asked for; start it after `ulimit -n 65536`.");
            }
        }
        catch (IOException)
        {
            Console.WriteLine($"ramcoin-bench viewers: warning: /proc/{pid} is not readable; no RSS or CPU for it.");
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Rlimit
    {
        public ulong Current;
        public ulong Max;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit")]
    private static partial int Getrlimit(int resource, ref Rlimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit")]
    private static partial int Setrlimit(int resource, ref Rlimit limit);
}
