using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using RamCoin.StoreContract;
using StackExchange.Redis;

namespace RamCoin.Bench;

/// <summary>One store build to measure: a label and its launcher (ramcoin.dll), run as <c>ramcoin store</c>.</summary>
public sealed record StoreBuild(string Label, string Launcher);

/// <summary>How often a store compacts its append-only file under a steady load, and what its clients see meanwhile.</summary>
public sealed record CompactionReading(
    string Label, double Seconds, long Flushes, long Failed, int Compactions, double LongestPingMs, int Reconnects,
    double FlushP99Ms, double FlushMaxMs, long LargestAofBytes, long LargestFolderBytes);

/// <summary>
/// A thousand workers' reports a second (three writes each, about 3,000 writes a second) against the embedded store with
/// a data folder, for each build in one run: compactions, the longest wait of a client that pings all along, the
/// writes' latency, and the largest append-only file and data folder.
/// </summary>
public static class StoreCompaction
{
    private const int PingEveryMs = 10;

    private static readonly string Report = "{\"rng\":{\"p50Ms\":1.0,\"p99Ms\":2.0},\"hasher\":{\"p50Ms\":1.0,\"p99Ms\":2.0},\"pad\":\"" + new string('t', 400) + "\"}";

    public static async Task<int> RunAsync(IReadOnlyList<StoreBuild> builds, int seconds, int reportsPerSecond, CancellationToken cancellationToken)
    {
        var readings = new List<CompactionReading>();
        foreach (var build in builds)
        {
            Console.Error.WriteLine($"ramcoin-bench store-compaction: {build.Label} ({build.Launcher}), {seconds} s at {reportsPerSecond} reports/s");
            readings.Add(await MeasureAsync(build, seconds, reportsPerSecond, cancellationToken));
        }

        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"store compaction: {reportsPerSecond:N0} worker reports/s ({3 * reportsPerSecond:N0} writes/s) for {seconds} s, each build in this run");
        Console.WriteLine("| build | reports | failed | compactions | s between | longest ping wait ms | reconnects | report p99 ms | report max ms | largest AOF MiB | largest folder MiB |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in readings)
        {
            var between = r.Compactions > 0 ? (r.Seconds / r.Compactions).ToString("F1", inv) : "-";
            Console.WriteLine(string.Create(inv,
                $"| {r.Label} | {r.Flushes:N0} | {r.Failed:N0} | {r.Compactions} | {between} | {r.LongestPingMs:F0} | {r.Reconnects} | {r.FlushP99Ms:F0} | {r.FlushMaxMs:F0} | {r.LargestAofBytes / 1048576.0:F1} | {r.LargestFolderBytes / 1048576.0:F1} |"));
        }

        return 0;
    }

    private static async Task<CompactionReading> MeasureAsync(StoreBuild build, int seconds, int rate, CancellationToken cancellationToken)
    {
        var dataDir = Directory.CreateTempSubdirectory("ramcoin-bench-store-").FullName;
        var port = Ports.Next();
        var log = new StringBuilder();
        using var store = StartStore(build.Launcher, port, dataDir, log);
        try
        {
            await WaitForAsync(() => Count(log, "RamCoin is running") > 0, TimeSpan.FromSeconds(60), $"{build.Label}: the store did not start: {Tail(log)}");
            using var redis = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
            {
                EndPoints = { { IPAddress.Loopback, port } },
                AbortOnConnectFail = false,
                ConnectRetry = 10,
                SyncTimeout = 20_000,
                AsyncTimeout = 20_000,
            });
            var db = redis.GetDatabase();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var pings = PingAsync(port, stop.Token);
            long largestAof = 0, largestFolder = 0;
            var sizes = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    largestAof = Math.Max(largestAof, Bytes(Path.Combine(dataDir, "AOF")));
                    largestFolder = Math.Max(largestFolder, Bytes(dataDir));
                    await Task.Delay(100, CancellationToken.None);
                }
            }, CancellationToken.None);

            var compactionsBefore = Count(log, "Compacted the append-only file");
            var (flushes, failed, latencies, elapsed) = await LoadAsync(db, seconds, rate, stop.Token);
            var compactions = Count(log, "Compacted the append-only file") - compactionsBefore;
            await stop.CancelAsync();
            var (longest, reconnects) = await pings;
            await sizes;
            latencies.Sort();
            return new CompactionReading(build.Label, elapsed, flushes, failed, compactions, longest, reconnects,
                latencies.Count > 0 ? latencies[(int)(latencies.Count * 0.99)] : double.NaN, latencies.Count > 0 ? latencies[^1] : double.NaN, largestAof, largestFolder);
        }
        finally
        {
            Stop(store);
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>Issues <paramref name="rate"/> reports a second for <paramref name="seconds"/>; at most 4,000 in flight.</summary>
    private static async Task<(long Flushes, long Failed, List<double> Latencies, double Seconds)> LoadAsync(IDatabase db, int seconds, int rate, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var inFlight = new SemaphoreSlim(4000);
        var pending = new List<Task<double>>();
        long issued = 0, failed = 0;
        while (clock.Elapsed.TotalSeconds < seconds && !cancellationToken.IsCancellationRequested)
        {
            var due = (long)(clock.Elapsed.TotalSeconds * rate);
            for (; issued < due; issued++)
            {
                await inFlight.WaitAsync(cancellationToken);
                pending.Add(FlushAsync(db, issued % 1000, inFlight));
            }

            await Task.Delay(5, cancellationToken);
        }

        var latencies = new List<double>(pending.Count);
        foreach (var task in pending)
        {
            var ms = await task;
            if (double.IsNaN(ms))
            {
                failed++;
            }
            else
            {
                latencies.Add(ms);
            }
        }

        return (issued, failed, latencies, clock.Elapsed.TotalSeconds);
    }

    /// <summary>One worker's report: the counter, its last-seen time and its telemetry, as one transaction. NaN when it failed.</summary>
    private static async Task<double> FlushAsync(IDatabase db, long worker, SemaphoreSlim inFlight)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            var transaction = db.CreateTransaction();
            _ = transaction.StringIncrementAsync(StoreKeys.Hashes, 3);
            _ = transaction.HashSetAsync(StoreKeys.WorkerSeen, $"bench-worker-{worker}", 1_800_000_000);
            _ = transaction.HashSetAsync(StoreKeys.WorkerTelemetry, $"bench-worker-{worker}", Report);
            return await transaction.ExecuteAsync() ? Stopwatch.GetElapsedTime(start).TotalMilliseconds : double.NaN;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return double.NaN;
        }
        finally
        {
            inFlight.Release();
        }
    }

    /// <summary>A client that pings every 10 ms on one connection: its longest wait for an answer (a reconnect included), and its reconnects.</summary>
    private static async Task<(double LongestMs, int Reconnects)> PingAsync(int port, CancellationToken cancellationToken)
    {
        double longest = 0;
        var reconnects = 0;
        var ping = "*1\r\n$4\r\nPING\r\n"u8.ToArray();
        var answer = new byte[64];
        TcpClient? client = null;
        var waitingSince = Stopwatch.GetTimestamp();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (client is null)
                {
                    client = new TcpClient { NoDelay = true };
                    await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                }

                var stream = client.GetStream();
                await stream.WriteAsync(ping, cancellationToken);
                var length = 0;
                while (length == 0 || answer[length - 1] != (byte)'\n')
                {
                    var read = await stream.ReadAsync(answer.AsMemory(length), cancellationToken);
                    if (read == 0 || answer[0] != (byte)'+' || (length += read) == answer.Length)
                    {
                        throw new IOException("the store closed the connection or did not answer +PONG");
                    }
                }

                longest = Math.Max(longest, Stopwatch.GetElapsedTime(waitingSince).TotalMilliseconds);
                await Task.Delay(PingEveryMs, cancellationToken);
                waitingSince = Stopwatch.GetTimestamp();
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception ex) when (ex is IOException or SocketException)
            {
                // Cut off: the wait goes on until an answer arrives on a new connection.
                client?.Dispose();
                client = null;
                reconnects++;
                await Task.Delay(5, CancellationToken.None);
            }
        }

        client?.Dispose();
        return (longest, reconnects);
    }

    private static Process StartStore(string launcher, int port, string dataDir, StringBuilder log)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { launcher, "store", "--store-port", port.ToString(CultureInfo.InvariantCulture), "--data-dir", dataDir })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        DataReceivedEventHandler keep = (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.OutputDataReceived += keep;
        process.ErrorDataReceived += keep;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static void Stop(Process store)
    {
        using var kill = store.HasExited ? null : Process.Start("kill", ["-TERM", store.Id.ToString(CultureInfo.InvariantCulture)]);
        kill?.WaitForExit();
        if (!store.WaitForExit(TimeSpan.FromSeconds(20)))
        {
            store.Kill(entireProcessTree: true);
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string failure)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException(failure);
            }

            await Task.Delay(100);
        }
    }

    private static int Count(StringBuilder log, string text)
    {
        string all;
        lock (log)
        {
            all = log.ToString();
        }

        var count = 0;
        for (var at = all.IndexOf(text, StringComparison.Ordinal); at >= 0; at = all.IndexOf(text, at + text.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static string Tail(StringBuilder log)
    {
        lock (log)
        {
            var all = log.ToString();
            return all.Length <= 2000 ? all : all[^2000..];
        }
    }

    private static long Bytes(string folder)
    {
        try
        {
            return Directory.Exists(folder) ? new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) : 0;
        }
        catch (IOException)
        {
            return 0; // a file removed while counted: the next sample counts again
        }
    }
}
