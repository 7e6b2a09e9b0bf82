namespace RamCoin.WebUI;

/// <summary>
/// The timeline's rate events, without I/O and without a clock: a drop under half the usual rate (the median of the
/// last half minute) that holds for a few ticks, and its recovery; a drop that lasts becomes the usual rate.
/// </summary>
public sealed class RateDropDetector
{
    /// <summary>Ticks a rate must stay past a threshold: the 10 s window rate wanders by a tenth at DockerCoins' speed.</summary>
    public const int RateConfirmTicks = 3;

    /// <summary>A drop is a rate under this share of the usual one; it is over at <see cref="RecoverFraction"/> of it.</summary>
    public const double DropFraction = 0.5;

    public const double RecoverFraction = 0.8;

    /// <summary>The usual rate is the median of the rates over this span.</summary>
    public const double BaselineSeconds = 30;

    /// <summary>Below this usual rate (hashes/s) nothing mines yet: no drop to see.</summary>
    public const double MinBaseline = 0.5;

    /// <summary>A drop that lasts this long is the new usual rate (someone scaled down): no recovery is awaited.</summary>
    public const double SettleSeconds = 60;

    private readonly Queue<(double At, double Rate)> _rates = new();
    private double? _dropReference;
    private double _dropSince;
    private int _lowTicks;
    private double _lowSince;
    private double _lowReference;
    private int _highTicks;
    private double _highSince;

    /// <summary>One tick's rate (a tick of a store that answers); <paramref name="add"/> takes the events it confirms.</summary>
    public void Observe(double now, double rate, Action<double, TimelineKind, string?, string?, string> add)
    {
        if (_dropReference is { } reference)
        {
            if (rate >= RecoverFraction * reference)
            {
                if (_highTicks++ == 0)
                {
                    _highSince = now;
                }

                if (_highTicks >= RateConfirmTicks)
                {
                    add(_highSince, TimelineKind.RateRecovered, null, null,
                        $"rate back to {rate:F1} hashes/s, {_highSince - _dropSince:F0} s after it fell");
                    Normal();
                }
            }
            else
            {
                _highTicks = 0;
                if (now - _dropSince >= SettleSeconds)
                {
                    Normal();
                }
            }

            return;
        }

        var baseline = _lowTicks > 0 ? _lowReference : Median();
        if (baseline >= MinBaseline && rate < DropFraction * baseline)
        {
            if (_lowTicks++ == 0)
            {
                _lowSince = now;
                _lowReference = baseline;
            }

            if (_lowTicks >= RateConfirmTicks)
            {
                add(_lowSince, TimelineKind.RateDrop, null, null, $"rate fell to {rate:F1} hashes/s, from about {_lowReference:F1}");
                _dropReference = _lowReference;
                _dropSince = _lowSince;
                _lowTicks = 0;
                _highTicks = 0;
                return;
            }
        }
        else
        {
            _lowTicks = 0;
        }

        _rates.Enqueue((now, rate));
        while (_rates.Count > 0 && now - _rates.Peek().At > BaselineSeconds)
        {
            _rates.Dequeue();
        }
    }

    private void Normal()
    {
        _dropReference = null;
        _highTicks = 0;
        _rates.Clear();
    }

    /// <summary>The usual rate: the median over the baseline span, once five seconds of it are known (else 0: none yet).</summary>
    private double Median()
    {
        if (_rates.Count < 5)
        {
            return 0;
        }

        var sorted = _rates.Select(r => r.Rate).Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
