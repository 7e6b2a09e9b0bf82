namespace RamCoin.WebUI;

/// <summary>A value that changes only once a new one held for some ticks; the change is dated from its first tick.</summary>
internal sealed class DebouncedValue<T>(T value)
    where T : notnull
{
    private T? _candidate;
    private int _count;
    private double _candidateSince;
    private double _since = double.NaN;

    public T Value { get; private set; } = value;

    /// <summary>A different value is being seen, not yet for long enough.</summary>
    public bool Pending => _count > 0;

    /// <summary>The change this tick confirms: the value before, when the new one was first seen, and when the old one was.</summary>
    public (T From, double Since, double PreviousSince)? Update(T observed, double now, int ticks)
    {
        if (EqualityComparer<T>.Default.Equals(observed, Value))
        {
            _count = 0;
            return null;
        }

        if (_count == 0 || !EqualityComparer<T>.Default.Equals(observed, _candidate))
        {
            _candidate = observed;
            _candidateSince = now;
            _count = 0;
        }

        if (++_count < ticks)
        {
            return null;
        }

        var change = (Value, _candidateSince, _since);
        Value = observed;
        _since = _candidateSince;
        _count = 0;
        return change;
    }
}
