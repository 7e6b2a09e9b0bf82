using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Telemetry;

namespace RamCoin.Worker;

/// <summary>
/// Retries, a circuit breaker and a per-try timeout for the calls to rng and hasher (Polly, with
/// Microsoft.Extensions.Http.Resilience's HTTP strategies), tuned so that work resumes within a second of a peer coming back.
/// </summary>
/// <remarks>
/// The standard handler's other two strategies are left out: its rate limiter (the worker's loops already bound
/// its calls) and its total timeout (the retries are bounded by the per-try timeout): each would add a layer of
/// async state to every call for nothing the worker needs.
/// </remarks>
public static class PeerResilience
{
    /// <summary>
    /// The strategies of one peer's pipeline (registered by <see cref="PeerHttpClients"/> with the client factory's
    /// <c>AddResilienceHandler</c>, which gives it Polly's telemetry: <c>resilience.polly.strategy.events</c>).
    /// </summary>
    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, WorkerOptions options)
    {
        if (pipeline.TelemetryListener is { } telemetry)
        {
            pipeline.TelemetryListener = new StrategyEventsOnly(telemetry);
        }

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

/// <summary>
/// Passes on the strategies' events (retries, circuit, timeouts) and drops the per-call ones: each call reported
/// "PipelineExecuting" (a tagged counter update), "PipelineExecuted" and "ExecutionAttempt" (whose duration
/// histograms are dropped in <see cref="Hosting.Telemetry"/> and whose logs are off): work on every call for
/// nothing a lesson reads.
/// </summary>
internal sealed class StrategyEventsOnly(TelemetryListener inner) : TelemetryListener
{
    public override void Write<TResult, TArgs>(in TelemetryEventArguments<TResult, TArgs> args)
    {
        // Type tests on the generic argument: the JIT folds them, nothing is boxed.
        if (typeof(TArgs) == typeof(PipelineExecutingArguments) || typeof(TArgs) == typeof(PipelineExecutedArguments)
            || typeof(TArgs) == typeof(ExecutionAttemptArguments))
        {
            return;
        }

        inner.Write(in args);
    }
}
