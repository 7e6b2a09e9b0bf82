using System.Globalization;
using System.Text.Json;
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
    /// The workers' latency reports (<c>ramcoin:worker:telemetry</c>, worker instance → JSON): rng and hasher p50/p99 in ms
    /// from the first report that reads as numbers; NaN when none does.
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

        foreach (var report in reports)
        {
            var field = $"{key}[{Show(report.Name)}]";
            try
            {
                using var json = JsonDocument.Parse((string?)report.Value ?? "");
                if (Peer(json.RootElement, "rng", field) is { } rng && Peer(json.RootElement, "hasher", field) is { } hasher)
                {
                    return (rng.P50, rng.P99, hasher.P50, hasher.P99);
                }
            }
            catch (JsonException)
            {
                Warn(field, $"'{Show(report.Value)}' is not JSON");
            }
        }

        return (double.NaN, double.NaN, double.NaN, double.NaN);
    }

    private static (double P50, double P99)? Peer(JsonElement root, string peer, string field)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(peer, out var e) || e.ValueKind != JsonValueKind.Object)
        {
            Warn(field, $"no \"{peer}\" object");
            return null;
        }

        double? Get(string name)
        {
            if (e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var ms) && ms is >= 0 and <= MaxPlausibleMs)
            {
                return ms;
            }

            Warn(field, $"{peer}.{name} is {(e.TryGetProperty(name, out var bad) ? Show(bad.GetRawText()) : "missing")}, not a latency in ms");
            return null;
        }

        return Get("p50Ms") is double p50 && Get("p99Ms") is double p99 ? (p50, p99) : null;
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
