using System.Diagnostics;

namespace RamCoin.Worker;

/// <summary>The calls of this worker to its two peers, shared by the clients and the flusher that publishes them.</summary>
public sealed class WorkerTelemetry
{
    public PeerTelemetry Rng { get; } = new();

    public PeerTelemetry Hasher { get; } = new();
}

/// <summary>
/// Latency and answering instances of the calls to one peer over the last seconds, measured by the worker:
/// the dashboard shows the bottleneck and load balancing from these.
/// </summary>
public sealed class PeerTelemetry
{
    private const int MaxSamples = 20_000;

    /// <summary>The ranges the web UI accepts (DashboardChecks): a peer's header outside them is taken as absent.</summary>
    private const int MaxConcurrency = 1_000_000;
    private const int MaxMs = 3_600_000;
    private static readonly long Window = Stopwatch.Frequency * 5;

    private readonly Lock _gate = new();
    private readonly Queue<(long At, double Ms, string Instance)> _samples = new();
    private readonly Dictionary<string, InstanceFacts> _facts = [];
    private int _inFlight;

    public int InFlight => Volatile.Read(ref _inFlight);

    public long Begin()
    {
        Interlocked.Increment(ref _inFlight);
        return Stopwatch.GetTimestamp();
    }

    /// <summary>Ends a call begun with <see cref="Begin"/>; a failed call has no answering instance and is not sampled.</summary>
    public void End(long started, HttpResponseMessage? response)
    {
        Interlocked.Decrement(ref _inFlight);
        if (response is null)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        var instance = Header(response, ServiceIdentity.InstanceHeader) ?? response.RequestMessage?.RequestUri?.Authority ?? "?";
        var facts = new InstanceFacts(
            Header(response, ServiceIdentity.VersionHeader) ?? "?",
            Number(response, ServiceIdentity.ConcurrencyHeader, 1, MaxConcurrency),
            Number(response, ServiceIdentity.ServiceMsHeader, 0, MaxMs),
            Number(response, ServiceIdentity.ExtraLatencyMsHeader, 0, MaxMs));
        lock (_gate)
        {
            _samples.Enqueue((now, Stopwatch.GetElapsedTime(started, now).TotalMilliseconds, instance));
            _facts[instance] = facts;
            Trim(now);
        }
    }

    public PeerReport Snapshot()
    {
        double[] latencies;
        var instances = new Dictionary<string, PeerInstanceReport>();
        lock (_gate)
        {
            Trim(Stopwatch.GetTimestamp());
            latencies = [.. _samples.Select(s => s.Ms)];
            foreach (var group in _samples.GroupBy(s => s.Instance))
            {
                var facts = _facts.GetValueOrDefault(group.Key, InstanceFacts.Unknown);
                instances[group.Key] = new PeerInstanceReport(group.LongCount(), facts.Version, facts.Concurrency, facts.ServiceMs, facts.ExtraLatencyMs);
            }
        }

        Array.Sort(latencies);
        return new PeerReport(Percentile(latencies, 0.50), Percentile(latencies, 0.95), Percentile(latencies, 0.99), InFlight, latencies.Length, instances);
    }

    private void Trim(long now)
    {
        while (_samples.Count > 0 && (now - _samples.Peek().At > Window || _samples.Count > MaxSamples))
        {
            _samples.Dequeue();
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : Math.Round(sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(p * sorted.Length))], 2);

    /// <summary>A whole number in range, else null: a peer's header is untrusted input.</summary>
    private static int? Number(HttpResponseMessage response, string name, int min, int max) =>
        Header(response, name) is { } text && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : null;

    /// <summary>What an instance last said of itself in its headers (a struct: no allocation per call).</summary>
    private readonly record struct InstanceFacts(string Version, int? Concurrency, int? ServiceMs, int? ExtraLatencyMs)
    {
        public static readonly InstanceFacts Unknown = new("?", null, null, null);
    }

    /// <summary>The raw header value: no parsing or validation, no enumerator (it runs for every call).</summary>
    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out var values) && values.Count > 0 ? values.ToString() : null;
}
