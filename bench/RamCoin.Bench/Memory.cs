using System.Globalization;
using System.Text;

namespace RamCoin.Bench;

/// <summary>The GC's own view of a .NET process, from the runtime metrics on its /metrics (System.Runtime meter).</summary>
public sealed record GcView(double HeapMiB, double CommittedMiB, long Collections)
{
    /// <summary>Reads <c>dotnet_gc_*</c> from a Prometheus text page; null if the page has none.</summary>
    public static GcView? Parse(string metrics)
    {
        var sums = new Dictionary<string, double>();
        foreach (var line in metrics.Split('\n'))
        {
            if (!line.StartsWith("dotnet_gc_", StringComparison.Ordinal))
            {
                continue;
            }

            // "name{labels} value [timestamp]": the value is the field after the labels.
            var brace = line.IndexOf('}', StringComparison.Ordinal);
            var name = line[..(line.IndexOfAny(['{', ' ']) is var end and > 0 ? end : line.Length)];
            var fields = line[(brace > 0 ? brace + 1 : name.Length)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 0 && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                sums[name] = sums.GetValueOrDefault(name) + value;
            }
        }

        if (sums.Count == 0)
        {
            return null;
        }

        const double MiB = 1024 * 1024;
        return new GcView(
            sums.GetValueOrDefault("dotnet_gc_last_collection_heap_size_bytes") / MiB,
            sums.GetValueOrDefault("dotnet_gc_last_collection_memory_committed_size_bytes") / MiB,
            (long)sums.GetValueOrDefault("dotnet_gc_collections_total"));
    }

    public static async Task<GcView?> ReadAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            return Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/metrics"));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }
}

/// <summary>One process's memory at one moment: /proc's view and the GC's.</summary>
public sealed record MemoryReading(string Name, string When, SmapsBreakdown Smaps, GcView? Gc)
{
    public static async Task<MemoryReading> ReadAsync(string name, string when, int pid, int? metricsPort) =>
        new(name, when, SmapsBreakdown.Read(pid), metricsPort is int port ? await GcView.ReadAsync(port) : null);
}

public static class MemoryReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// The Native AOT binaries' idle RSS: each service's binary in a classic-profile system (the course's default:
    /// one worker loop, 3.3 hashes/s) with an in-memory store from the launcher, read 10 s after the start.
    /// </summary>
    public static async Task<List<MemoryReading>> IdleAotAsync(string binaries, string launcher, IReadOnlyList<string> env, int settleSeconds, CancellationToken cancellationToken)
    {
        var ports = new Dictionary<string, int> { ["store"] = Ports.Next(), ["rng"] = Ports.Next(), ["hasher"] = Ports.Next(), ["worker"] = Ports.Next(), ["webui"] = Ports.Next() };
        var common = new Dictionary<string, string>
        {
            ["REDIS_HOST"] = "127.0.0.1",
            ["REDIS_PORT"] = ports["store"].ToString(Inv),
            ["RNG_URL"] = $"http://127.0.0.1:{ports["rng"]}",
            ["HASHER_URL"] = $"http://127.0.0.1:{ports["hasher"]}",
            ["WORKER_URL"] = $"http://127.0.0.1:{ports["worker"]}",
        };
        var children = new List<Child>();
        try
        {
            children.Add(new Child("store", "dotnet", [launcher, "store", "--in-memory", "--store-port", ports["store"].ToString(Inv)]));
            foreach (var service in Harness.AotServices)
            {
                var own = Harness.Settings(env, service, new Dictionary<string, string>(common) { ["ASPNETCORE_HTTP_PORTS"] = ports[service].ToString(Inv) });
                children.Add(new Child(service, Path.Combine(binaries, service, Harness.Binary(service)), [], own));
            }

            foreach (var child in children.Skip(1))
            {
                await Harness.WaitForUrlAsync(child, $"http://127.0.0.1:{ports[child.Name]}/healthz");
            }

            await Task.Delay(TimeSpan.FromSeconds(settleSeconds), cancellationToken);
            var readings = new List<MemoryReading>();
            foreach (var child in children.Skip(1))
            {
                readings.Add(await MemoryReading.ReadAsync(child.Name, $"idle, {settleSeconds} s after start", child.Pid, ports[child.Name]));
            }

            return readings;
        }
        finally
        {
            for (var i = children.Count - 1; i >= 0; i--)
            {
                await children[i].DisposeAsync();
            }
        }
    }

    /// <summary>The memory table: where each process's resident MiB are.</summary>
    public static void Append(StringBuilder report, IReadOnlyList<MemoryReading> readings)
    {
        if (readings.Count == 0)
        {
            return;
        }

        static string M(long kib) => (kib / 1024.0).ToString("F1", Inv);
        report.AppendLine("| memory, MiB | when | RSS | anonymous | of it GC committed (heap) | file-backed | of it the binary | .so libraries | other files (assemblies) | threads |");
        report.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in readings)
        {
            var s = r.Smaps;
            var gc = r.Gc is { } g ? $"{g.CommittedMiB:F1} ({g.HeapMiB:F1}; {g.Collections} GCs)" : "";
            report.AppendLine(Inv, $"| {r.Name} | {r.When} | {M(s.RssKiB)} | {M(s.AnonymousKiB)} | {gc} | {M(s.FileKiB)} | {M(s.BinaryKiB)} | {M(s.LibrariesKiB)} | {M(s.OtherFilesKiB)} | {s.Threads} |");
        }

        report.AppendLine();
        foreach (var r in readings)
        {
            var files = string.Join(", ", r.Smaps.LargestFiles(8).Select(f => $"{Path.GetFileName(f.Path)} {M(f.KiB)}"));
            var named = string.Join(", ", r.Smaps.Mappings.Where(m => !m.Key.StartsWith('/')).OrderByDescending(m => m.Value).Take(4).Select(m => $"{m.Key} {M(m.Value)}"));
            report.AppendLine(Inv, $"- {r.Name} ({r.When}): largest files {files}; not files: {named}");
        }

        report.AppendLine();
    }
}
