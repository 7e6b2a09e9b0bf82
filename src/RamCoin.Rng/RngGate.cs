using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace RamCoin.Rng;

/// <summary>Lets at most RNG_CONCURRENCY requests through at once; the others wait in line, oldest first.</summary>
public sealed class RngGate(IOptions<RngOptions> options) : IDisposable
{
    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = options.Value.Concurrency,
        QueueLimit = options.Value.QueueLimit,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    /// <summary>Requests waiting in line now.</summary>
    public long Waiting => _limiter.GetStatistics()?.CurrentQueuedCount ?? 0;

    public ValueTask<RateLimitLease> EnterAsync(CancellationToken cancellationToken) =>
        _limiter.AcquireAsync(1, cancellationToken);

    public void Dispose() => _limiter.Dispose();
}
