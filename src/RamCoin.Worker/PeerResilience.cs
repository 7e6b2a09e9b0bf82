using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace RamCoin.Worker;

/// <summary>
/// Timeouts, retries and a circuit breaker for the calls to rng and hasher (Polly, through
/// Microsoft.Extensions.Http.Resilience), tuned so that work resumes within a second of a peer coming back.
/// </summary>
public static class PeerResilience
{
    public static void Configure(HttpStandardResilienceOptions resilience, WorkerOptions options)
    {
        var attempt = TimeSpan.FromMilliseconds(options.TimeoutMs);
        resilience.AttemptTimeout.Timeout = attempt;
        resilience.Retry.MaxRetryAttempts = Math.Max(1, options.Retries);
        resilience.Retry.ShouldHandle = options.Retries == 0
            ? _ => PredicateResult.False()
            : resilience.Retry.ShouldHandle;
        resilience.Retry.BackoffType = DelayBackoffType.Exponential;
        resilience.Retry.UseJitter = true;
        resilience.Retry.Delay = TimeSpan.FromMilliseconds(50);
        resilience.Retry.MaxDelay = TimeSpan.FromMilliseconds(400);
        resilience.TotalRequestTimeout.Timeout = attempt * (options.Retries + 1) + TimeSpan.FromSeconds(1);
        // A peer that fails half of at least 20 calls is left alone for half a second (Polly's shortest break),
        // then tried again: a dead peer costs almost nothing, a returning one is found quickly.
        resilience.CircuitBreaker.FailureRatio = 0.5;
        resilience.CircuitBreaker.MinimumThroughput = 20;
        resilience.CircuitBreaker.BreakDuration = TimeSpan.FromMilliseconds(500);
        resilience.CircuitBreaker.SamplingDuration = attempt * 2 > TimeSpan.FromSeconds(5) ? attempt * 2 : TimeSpan.FromSeconds(5);
    }
}
