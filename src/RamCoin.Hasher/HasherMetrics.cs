using System.Diagnostics.Metrics;

namespace RamCoin.Hasher;

/// <summary>hasher's own metrics: requests being served and bytes hashed.</summary>
public sealed class HasherMetrics
{
    public HasherMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(Hosting.Telemetry.Prefix + "Hasher");
        Active = meter.CreateUpDownCounter<long>("ramcoin.hasher.requests.active", "{request}", "Requests hasher is serving now.");
        Bytes = meter.CreateCounter<long>("ramcoin.hasher.bytes", "By", "Bytes hashed.");
    }

    public UpDownCounter<long> Active { get; }

    public Counter<long> Bytes { get; }
}
