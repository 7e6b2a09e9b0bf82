using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace RamCoin.ServiceDefaults;

/// <summary>
/// What a service read from the store and could not use (a wrong type, bad JSON, an absurd number): anyone with
/// redis-cli, or another student's worker, may write anything there. Each key is logged at most once a minute, so a
/// bad value that stays in the store does not flood the log while the reader skips it every second.
/// </summary>
public sealed class StoreValueWarnings(ILogger logger, TimeProvider time)
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, long> _lastLogged = new(StringComparer.Ordinal);

    public void Skipped(string key, string reason)
    {
        var now = time.GetTimestamp();
        var last = _lastLogged.GetOrAdd(key, long.MinValue);
        if (last != long.MinValue && time.GetElapsedTime(last, now) < Interval)
        {
            return;
        }

        // Two readers at once may both log; one extra line is fine.
        _lastLogged[key] = now;
        logger.LogWarning("Store key {Key} holds a value this service cannot use ({Reason}); it is skipped.", key, reason);
    }
}
