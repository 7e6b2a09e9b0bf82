using System.Globalization;

namespace RamCoin.Bench;

/// <summary>Where a process's resident memory is, from /proc/&lt;pid&gt;/smaps_rollup and smaps, in KiB.</summary>
/// <param name="Mappings">Resident KiB per mapped file (by path) and per named kind of anonymous memory ([heap], [stack], anonymous).</param>
public sealed record SmapsBreakdown(long RssKiB, long AnonymousKiB, long FileKiB, int Threads, string Binary, IReadOnlyDictionary<string, long> Mappings)
{
    public static SmapsBreakdown Read(int pid)
    {
        var rollup = Fields(File.ReadLines($"/proc/{pid}/smaps_rollup"));
        var mappings = new Dictionary<string, long>();
        string? current = null;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            // A mapping's header: "start-end perms offset dev inode [path]"; its fields follow, one a line.
            if (IsHeader(line))
            {
                var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                current = parts.Length >= 6 ? parts[5].Trim() : "anonymous";
            }
            else if (current is not null && line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                mappings[current] = mappings.GetValueOrDefault(current) + Kib(line);
            }
        }

        var threads = int.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Threads:", StringComparison.Ordinal))[8..].Trim(), CultureInfo.InvariantCulture);
        var binary = File.ResolveLinkTarget($"/proc/{pid}/exe", returnFinalTarget: false)?.FullName ?? "";
        var rss = rollup.GetValueOrDefault("Rss");
        var anonymous = rollup.GetValueOrDefault("Anonymous");
        return new SmapsBreakdown(rss, anonymous, rss - anonymous, threads, binary, mappings);
    }

    /// <summary>The resident KiB of the process's own executable file (for an AOT binary: its code and data).</summary>
    public long BinaryKiB => Mappings.GetValueOrDefault(Binary);

    /// <summary>Resident KiB of mapped files other than the executable, grouped: shared libraries (.so) and the rest (assemblies, data).</summary>
    public long LibrariesKiB => Mappings.Where(m => m.Key.StartsWith('/') && m.Key != Binary && m.Key.Contains(".so", StringComparison.Ordinal)).Sum(m => m.Value);

    public long OtherFilesKiB => Mappings.Where(m => m.Key.StartsWith('/') && m.Key != Binary && !m.Key.Contains(".so", StringComparison.Ordinal)).Sum(m => m.Value);

    /// <summary>The largest mapped files, most resident first (for the report's "where every MiB goes").</summary>
    public IEnumerable<(string Path, long KiB)> LargestFiles(int count) =>
        Mappings.Where(m => m.Key.StartsWith('/')).OrderByDescending(m => m.Value).Take(count).Select(m => (m.Key, m.Value));

    private static bool IsHeader(string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        var dash = line.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && space > dash && line[..dash].All(char.IsAsciiHexDigit);
    }

    private static Dictionary<string, long> Fields(IEnumerable<string> lines) => lines
        .Where(l => l.EndsWith(" kB", StringComparison.Ordinal))
        .ToDictionary(l => l[..l.IndexOf(':', StringComparison.Ordinal)], Kib);

    private static long Kib(string line) => long.Parse(line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..^3].Trim(), CultureInfo.InvariantCulture);
}
