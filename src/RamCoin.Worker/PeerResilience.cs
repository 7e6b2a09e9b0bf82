using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace RamCoin.Worker;

/// <summary>
/// Retries, a circuit breaker and a per-try timeout for the calls to rng and hasher (Polly, through
/// Microsoft.Extensions.Http.Resilience), tuned so that work resumes within a second of a peer coming back.
/// </summary>
/// <remarks>
/// The standard handler's other two strategies are left out: its rate limiter (the worker's loops already bound
/// its calls) and its total timeout (the retries are bounded by the per-try timeout); each costs a layer of
/// async state per call, measurable at the fast profile's rates (bench/).
/// </remarks>
public static class PeerResilience
{
    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, WorkerOptions options)
    {
        var attempt = TimeSpan.FromMilliseconds(options.TimeoutMs);
        var retry = new HttpRetryStrategyOptions
        {
            MaxRetryAttempts = Math.Max(1, options.Retries),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(50),
            MaxDelay = TimeSpan.FromMilliseconds(400),
        };
        if (options.Retries == 0)
        {
            retry.ShouldHandle = _ => PredicateResult.False();
        }

        pipeline
            .AddRetry(retry)
            // A peer that fails half of at least 20 calls is left alone for half a second (Polly's shortest break),
            // then tried again: a dead peer costs almost nothing, a returning one is found quickly.
            .AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
            {
                FailureRatio = 0.5,
                MinimumThroughput = 20,
                BreakDuration = TimeSpan.FromMilliseconds(500),
                SamplingDuration = attempt * 2 > TimeSpan.FromSeconds(5) ? attempt * 2 : TimeSpan.FromSeconds(5),
            })
            .AddTimeout(attempt);
    }
}
