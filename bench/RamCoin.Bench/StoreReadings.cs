using System.Globalization;
using System.Text.Json;
using RamCoin.StoreContract;
using StackExchange.Redis;

namespace RamCoin.Bench;

/// <summary>
/// What the bench reads from a store it does not own (any client can write there): a value of the wrong type, JSON
/// that does not parse or an absurd number is skipped with a one-line warning naming the key, never a crash.
/// </summary>
public static class StoreReadings
{
    /// <summary>No pipeline on a machine like this comes near it (RamCoin's fast profile: about 15k hashes/s).</summary>
    public const double MaxPlausibleRate = 1e8;

    /// <summary>A latency above an hour is not a measurement.</summary>
    public const double MaxPlausibleMs = 3_600_000;

    private static readonly HashSet<string> Warned = [];

    /// <summary>A counter such as <c>hashes</c>: absent is 0 (nothing flushed yet); not an integer, negative or the wrong type is null.</summary>
    public static async Task<long?> CounterAsync(IDatabase db, string key)
    {
        RedisValue value;
        try
        {
            value = await db.StringGetAsync(key);
        }
        catch (RedisServerException ex)
        {
            Warn(key, ex.Message);
            return null;
        }

        if (value.IsNull)
        {
            return 0;
        }

        if (!value.TryParse(out long count))
        {
            Warn(key, $"'{Show(value)}' is not an integer");
            return null;
        }

        if (count < 0)
        {
            Warn(key, $"{count} is negative");
            return null;
        }

        return count;
    }

    /// <summary>The rate between two readings of a counter, or null when one is missing, the counter went back or the rate is absurd.</summary>
    public static double? Rate(string key, long? before, long? after, double seconds)
    {
        if (before is not long b || after is not long a || seconds <= 0)
        {
            return null;
        }

        if (a < b)
        {
            Warn(key, $"went back from {b} to {a} (that second)");
            return null;
        }

        var rate = (a - b) / seconds;
        if (rate > MaxPlausibleRate)
        {
            Warn(key, $"grew by {a - b} in {seconds:F1} s (that second)");
            return null;
        }

        return rate;
    }

    /// <summary>
    /// The workers' latency reports (<see cref="StoreKeys.WorkerTelemetry"/>, worker instance → <see cref="WorkerReport"/>): rng and
    /// hasher p50/p99 in ms from the first report that reads as sane numbers; NaN when none does.
    /// </summary>
    public static async Task<(double RngP50, double RngP99, double HasherP50, double HasherP99)> LatencyAsync(IDatabase db, string key)
    {
        HashEntry[] reports;
        try
        {
            reports = await db.HashGetAllAsync(key);
        }
        catch (RedisServerException ex)
        {
            Warn(key, ex.Message);
            return (double.NaN, double.NaN, double.NaN, double.NaN);
        }

        foreach (var entry in reports)
        {
            var field = $"{key}[{Show(entry.Name)}]";
            WorkerReport? report;
            try
            {
                report = JsonSerializer.Deserialize((string?)entry.Value ?? "", StoreJsonContext.Default.WorkerReport);
            }
            catch (JsonException)
            {
                Warn(field, $"'{Show(entry.Value)}' is not a worker's report");
                continue;
            }

            if (Latency(report?.Rng, "rng", field) is { } rng && Latency(report?.Hasher, "hasher", field) is { } hasher)
            {
                return (rng.P50, rng.P99, hasher.P50, hasher.P99);
            }
        }

        return (double.NaN, double.NaN, double.NaN, double.NaN);
    }

    private static (double P50, double P99)? Latency(PeerReport? peer, string name, string field)
    {
        if (peer is null)
        {
            Warn(field, $"no \"{name}\" object");
            return null;
        }

        foreach (var (label, ms) in new[] { ("p50Ms", peer.P50Ms), ("p99Ms", peer.P99Ms) })
        {
            if (!double.IsFinite(ms) || ms is < 0 or > MaxPlausibleMs)
            {
                Warn(field, $"{name}.{label} is {ms.ToString(CultureInfo.InvariantCulture)}, not a latency in ms");
                return null;
            }
        }

        // A report without p99 (a worker older than the field) reads as 0, below any measured p50.
        if (peer.P99Ms < peer.P50Ms)
        {
            Warn(field, $"{name}.p99Ms is below its p50Ms (a worker that does not report p99)");
            return null;
        }

        return (peer.P50Ms, peer.P99Ms);
    }

    /// <summary>One line on the error output, once per key and reason.</summary>
    private static void Warn(string key, string reason)
    {
        var line = $"ramcoin-bench: warning: store key {key}: {reason}; skipped.";
        lock (Warned)
        {
            if (!Warned.Add(line))
            {
                return;
            }
        }

        Console.Error.WriteLine(line);
    }

    private static string Show(RedisValue value) => Show((string?)value ?? "");

    private static string Show(string text)
    {
        var flat = text.ReplaceLineEndings(" ");
        return flat.Length <= 40 ? flat : string.Create(CultureInfo.InvariantCulture, $"{flat[..40]}… ({flat.Length} chars)");
    }
}
