namespace RamCoin.StoreContract;

/// <summary>
/// Warnings about a store key that holds something this service cannot use (another student's worker or
/// <c>redis-cli</c> may write anything anywhere): at most one a minute per key, naming it, so a broken key
/// neither floods the log nor goes unnoticed. The worker and the web UI each register one.
/// </summary>
public sealed class StoreKeyWarnings(TimeProvider time, ILogger<StoreKeyWarnings> logger)
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, (DateTimeOffset At, int Suppressed)> _last = [];
    private long _logged;

    /// <summary>Warnings written so far (the ones suppressed by the once-a-minute limit not included).</summary>
    public long Logged => Interlocked.Read(ref _logged);

    /// <summary>The keys warned about so far.</summary>
    public IReadOnlyList<string> Keys
    {
        get
        {
            lock (_gate)
            {
                return [.. _last.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    public void Warn(string key, string problem)
    {
        var now = time.GetUtcNow();
        int suppressed;
        lock (_gate)
        {
            if (_last.TryGetValue(key, out var last) && now - last.At < Interval)
            {
                _last[key] = (last.At, last.Suppressed + 1);
                return;
            }

            suppressed = _last.TryGetValue(key, out last) ? last.Suppressed : 0;
            _last[key] = (now, 0);
        }

        Interlocked.Increment(ref _logged);
        // Keys and what they hold come from anyone who can write to the store: escaped, one line each.
        logger.LogWarning("Store key {Key}: {Problem} ({Suppressed} more like this in the last minute)", LogText.Escape(key), LogText.Escape(problem), suppressed);
    }
}
