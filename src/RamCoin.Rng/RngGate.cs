using System.Threading.RateLimiting;

namespace RamCoin.Rng;

/// <summary>
/// Lets at most RNG_CONCURRENCY requests through at once; the others wait in line, oldest first. A run-time
/// change of RNG_CONCURRENCY takes effect for requests that arrive after it.
/// </summary>
public sealed class RngGate : IDisposable
{
    private readonly IDisposable? _subscription;
    private ConcurrencyLimiter _limiter;
    private int _permits;

    public RngGate(IOptionsMonitor<RngOptions> options)
    {
        _permits = options.CurrentValue.Concurrency;
        _limiter = Create(options.CurrentValue);
        _subscription = options.OnChange(o =>
        {
            if (o.Concurrency != Volatile.Read(ref _permits))
            {
                // Requests already in the old line keep their place there; new ones join the new line.
                Volatile.Write(ref _permits, o.Concurrency);
                Volatile.Write(ref _limiter, Create(o));
            }
        });
    }

    /// <summary>Requests waiting in line now.</summary>
    public long Waiting => Volatile.Read(ref _limiter).GetStatistics()?.CurrentQueuedCount ?? 0;

    public ValueTask<RateLimitLease> EnterAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _limiter).AcquireAsync(1, cancellationToken);

    public void Dispose()
    {
        _subscription?.Dispose();
        _limiter.Dispose();
    }

    private static ConcurrencyLimiter Create(RngOptions options) => new(new ConcurrencyLimiterOptions
    {
        PermitLimit = options.Concurrency,
        QueueLimit = options.QueueLimit,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });
}
