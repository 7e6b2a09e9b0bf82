using RamCoin.WebUI;

namespace RamCoin.Tests.Infrastructure;

/// <summary>The clock and the web UI that the made-up dashboard and timeline ticks of the arithmetic tests share.</summary>
public static class MadeUpTicks
{
    /// <summary>2027-01-15 08:00 UTC: a round time, far from the epoch.</summary>
    public const double T0 = 1_800_000_000;

    public static readonly ServiceVersion WebUIInstance = new("webui-1", "1.0");
}
