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
    /// <summary>Longest instance name kept: a host name (a pod's) is at most 63 characters; longer ones are cut.</summary>
    public const int MaxInstanceName = 64;

    /// <summary>Longest version kept (RAMCOIN_VERSION's own limit); longer ones are cut.</summary>
    public const int MaxVersion = ServiceIdentity.MaxVersionLength;

    /// <summary>
    /// Instances kept per window: a peer may name itself anew on every answer. Calls answered by further instances
    /// count under <see cref="OtherInstances"/> until names leave the window.
    /// </summary>
    public const int MaxInstances = 32;

    /// <summary>Where the calls of the instances past <see cref="MaxInstances"/> are counted.</summary>
    public const string OtherInstances = "(other instances)";

    private const int MaxSamples = 20_000;

    private static readonly long Window = Stopwatch.Frequency * 5;

    private readonly Lock _gate = new();
    private readonly Queue<(long At, double Ms, Instance Instance)> _samples = new();

    /// <summary>The instances of the samples in the window: one goes when its last sample leaves.</summary>
    private readonly Dictionary<string, Instance> _instances = new(StringComparer.Ordinal);
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
        var headers = AnswerHeaders.Of(response);
        // An empty name or version is taken as absent: the web UI skips a report that holds one.
        var name = Bounded(NonEmpty(headers.Instance) ?? response.RequestMessage?.RequestUri?.Authority ?? "?", MaxInstanceName);
        var facts = new InstanceFacts(
            Bounded(NonEmpty(headers.Version) ?? "?", MaxVersion),
            // The ranges the web UI accepts: a peer's header outside them is taken as absent.
            Number(headers.Concurrency, 1, PeerInstanceReport.MaxConcurrency),
            Number(headers.ServiceMs, 0, PeerInstanceReport.MaxMs),
            Number(headers.ExtraLatencyMs, 0, PeerInstanceReport.MaxMs));
        lock (_gate)
        {
            if (!_instances.TryGetValue(name, out var instance))
            {
                var full = _instances.Count >= MaxInstances;
                // Past the limit the others share one entry, which says nothing of their capacity or version.
                name = full ? OtherInstances : name;
                if (!_instances.TryGetValue(name, out instance))
                {
                    _instances[name] = instance = new Instance(name);
                }

                facts = full ? InstanceFacts.Unknown : facts;
            }
            else if (name == OtherInstances)
            {
                facts = InstanceFacts.Unknown;
            }

            instance.Facts = facts;
            instance.Samples++;
            _samples.Enqueue((now, Stopwatch.GetElapsedTime(started, now).TotalMilliseconds, instance));
            Trim(now);
        }
    }

    public PeerReport Snapshot()
    {
        double[] latencies;
        var instances = new Dictionary<string, PeerInstanceReport>(StringComparer.Ordinal);
        lock (_gate)
        {
            Trim(Stopwatch.GetTimestamp());
            // Loops, not LINQ: up to MaxSamples entries a second, under the lock the calls wait for.
            latencies = new double[_samples.Count];
            var i = 0;
            foreach (var (_, ms, _) in _samples)
            {
                latencies[i++] = ms;
            }

            foreach (var (name, instance) in _instances)
            {
                var facts = instance.Facts;
                instances[name] = new PeerInstanceReport(instance.Samples, facts.Version, facts.Concurrency, facts.ServiceMs, facts.ExtraLatencyMs);
            }
        }

        Array.Sort(latencies);
        return new PeerReport(Percentile(latencies, 0.50), Percentile(latencies, 0.95), Percentile(latencies, 0.99), InFlight, latencies.Length, instances);
    }

    private void Trim(long now)
    {
        while (_samples.Count > 0 && (now - _samples.Peek().At > Window || _samples.Count > MaxSamples))
        {
            var instance = _samples.Dequeue().Instance;
            if (--instance.Samples == 0)
            {
                _instances.Remove(instance.Name);
            }
        }
    }

    /// <summary>
    /// A peer's header value as it may be kept and shown: at most <paramref name="max"/> characters, control characters
    /// as '?' (the web UI skips a report that holds one). Allocates only for a value that needs it.
    /// </summary>
    public static string Bounded(string value, int max)
    {
        var kept = value.Length <= max ? value : value[..max];
        return kept.AsSpan().ContainsAnyInRange('\0', '\x1f') || kept.AsSpan().ContainsAnyInRange('\x7f', '\x9f')
            ? string.Create(kept.Length, kept, static (chars, text) =>
            {
                for (var i = 0; i < chars.Length; i++)
                {
                    chars[i] = char.IsControl(text[i]) ? '?' : text[i];
                }
            })
            : kept;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    /// <summary>An answering instance: its samples in the window and what it last said of itself.</summary>
    private sealed class Instance(string name)
    {
        public string Name { get; } = name;

        public InstanceFacts Facts { get; set; } = InstanceFacts.Unknown;

        public int Samples { get; set; }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : Math.Round(sorted[(int)Math.Min(sorted.Length - 1, Math.Floor(p * sorted.Length))], 2);

    /// <summary>A whole number in range, else null: a peer's header is untrusted input.</summary>
    private static int? Number(string? text, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value : null;

    /// <summary>What an instance last said of itself in its headers (a struct: no allocation per call).</summary>
    private readonly record struct InstanceFacts(string Version, int? Concurrency, int? ServiceMs, int? ExtraLatencyMs)
    {
        public static readonly InstanceFacts Unknown = new("?", null, null, null);
    }

    /// <summary>The identity and capacity headers of one answer, raw: no parsing or validation.</summary>
    private readonly record struct AnswerHeaders(string? Instance, string? Version, string? Concurrency, string? ServiceMs, string? ExtraLatencyMs)
    {
        /// <summary>One pass over the headers instead of a lookup (and a header-name check) per header: it runs for every call.</summary>
        public static AnswerHeaders Of(HttpResponseMessage response)
        {
            string? instance = null, version = null, concurrency = null, serviceMs = null, extraLatencyMs = null;
            foreach (var (name, values) in response.Headers.NonValidated)
            {
                if (values.Count == 0 || !name.StartsWith(ServiceIdentity.HeaderPrefix, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (name.Equals(ServiceIdentity.InstanceHeader, StringComparison.OrdinalIgnoreCase))
                {
                    instance ??= values.ToString();
                }
                else if (name.Equals(ServiceIdentity.VersionHeader, StringComparison.OrdinalIgnoreCase))
                {
                    version ??= values.ToString();
                }
                else if (name.Equals(ServiceIdentity.ConcurrencyHeader, StringComparison.OrdinalIgnoreCase))
                {
                    concurrency ??= values.ToString();
                }
                else if (name.Equals(ServiceIdentity.ServiceMsHeader, StringComparison.OrdinalIgnoreCase))
                {
                    serviceMs ??= values.ToString();
                }
                else if (name.Equals(ServiceIdentity.ExtraLatencyMsHeader, StringComparison.OrdinalIgnoreCase))
                {
                    extraLatencyMs ??= values.ToString();
                }
            }

            return new(instance, version, concurrency, serviceMs, extraLatencyMs);
        }
    }
}
