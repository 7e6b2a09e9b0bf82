using System.Diagnostics.Metrics;

namespace RamCoin.Rng;

/// <summary>rng's own metrics: requests being served, requests waiting in line, bytes served.</summary>
public sealed class RngMetrics
{
    public RngMetrics(IMeterFactory meters, RngGate gate)
    {
        var meter = meters.Create(Hosting.Telemetry.Prefix + "Rng");
        Active = meter.CreateUpDownCounter<long>("ramcoin.rng.requests.active", "{request}", "Requests rng is serving now (past the concurrency gate).");
        Bytes = meter.CreateCounter<long>("ramcoin.rng.bytes", "By", "Random bytes served.");
        meter.CreateObservableGauge("ramcoin.rng.requests.waiting", () => gate.Waiting, "{request}", "Requests waiting in line for the concurrency gate (RNG_CONCURRENCY).");
    }

    public UpDownCounter<long> Active { get; }

    public Counter<long> Bytes { get; }
}
