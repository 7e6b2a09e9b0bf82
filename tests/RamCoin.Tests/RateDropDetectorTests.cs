using RamCoin.WebUI;

namespace RamCoin.Tests;

/// <summary>The timeline's rate events (<see cref="RateDropDetector"/>) from made-up ticks, one a second.</summary>
public sealed class RateDropDetectorTests
{
    private readonly RateDropDetector _detector = new();
    private readonly List<(double At, TimelineKind Kind, string Text)> _events = [];

    private void Tick(double now, double rate) => _detector.Observe(now, rate, (at, kind, _, _, text) => _events.Add((at, kind, text)));

    [Fact]
    public void ADropThatHoldsIsDatedFromItsFirstTickAndItsRecoveryToo()
    {
        for (var t = 0; t < 20; t++)
        {
            Tick(t, 10);
        }

        Tick(20, 2);
        Tick(21, 2);
        Assert.Empty(_events);
        Tick(22, 2);
        var drop = Assert.Single(_events);
        Assert.Equal((20, TimelineKind.RateDrop), (drop.At, drop.Kind));
        Assert.Contains("from about 10.0", drop.Text, StringComparison.Ordinal);

        Tick(30, 9);
        Tick(31, 9);
        Tick(32, 9);
        Assert.Equal((30, TimelineKind.RateRecovered), (_events[^1].At, _events[^1].Kind));
    }

    [Fact]
    public void AOneTickDipOrNoMiningYetIsNoEvent()
    {
        for (var t = 0; t < 20; t++)
        {
            Tick(t, t % 7 == 0 ? 1 : 10);
        }

        var idle = new RateDropDetector();
        for (var t = 0; t < 20; t++)
        {
            idle.Observe(t, t < 10 ? 0.2 : 0, (_, _, _, _, _) => Assert.Fail("no usual rate yet: no drop"));
        }

        Assert.Empty(_events);
    }
}
