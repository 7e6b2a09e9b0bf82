using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace RamCoin.Lessons;

/// <summary>Applies the injected errors and latency of <see cref="LessonKnobs"/> to a service's own endpoints.</summary>
public static class LessonFaults
{
    /// <summary>The knobs every service has, and the readiness check that follows them (tagged for /readyz only).</summary>
    public static void AddLessonKnobs(this WebApplicationBuilder builder, string readyTag)
    {
        var configuration = builder.Configuration;
        builder.Services.AddValidatedOptions<LessonKnobs, LessonKnobsValidator>(configuration, (c, o) => c.Bind(o));
        // A singleton: it remembers when the service started (a check is otherwise made anew for each probe).
        builder.Services.AddSingleton<LessonReadiness>();
        // Readiness only: a slow or unready pod is taken out of its Service, not restarted.
        builder.Services.AddHealthChecks().AddCheck<LessonReadiness>("lesson", tags: [readyTag]);
    }

    public static void UseLessonFaults(this WebApplication app)
    {
        var knobs = app.Services.GetRequiredService<IOptionsMonitor<LessonKnobs>>();
        app.Use((context, next) =>
        {
            // Without a fault set, no async state and no path check per request: the usual case, at full speed.
            var current = knobs.CurrentValue;
            return (current.ExtraLatencyMs <= 0 && current.ErrorRate <= 0) || !IsOwnEndpoint(context.Request.Path)
                ? next(context)
                : ApplyAsync(context, next, current);
        });
    }

    private static async Task ApplyAsync(HttpContext context, RequestDelegate next, LessonKnobs current)
    {
        if (current.ExtraLatencyMs > 0)
        {
            // Said in a header, so that the dashboard's expected ceiling counts it in the workers' loop time.
            context.Response.Headers[ServiceIdentity.ExtraLatencyMsHeader] = current.ExtraLatencyMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Task.Delay(current.ExtraLatencyMs, context.RequestAborted);
        }

        if (current.ErrorRate > 0 && Random.Shared.NextDouble() < current.ErrorRate)
        {
            await ServiceHost.Problem(StatusCodes.Status500InternalServerError, "Injected error",
                $"RAMCOIN_ERROR_RATE is {current.ErrorRate}: this answer failed on purpose.").ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    /// <summary>Probes, metrics and the admin API stay honest, so a fault can be seen and turned off.</summary>
    internal static bool IsOwnEndpoint(PathString path) =>
        !(path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics") || path.StartsWithSegments("/admin"));
}

/// <summary>Readiness as the knobs say: not ready during a slow start, or while forced unready.</summary>
public sealed class LessonReadiness(IOptionsMonitor<LessonKnobs> knobs, TimeProvider time) : IHealthCheck
{
    private readonly DateTimeOffset _started = time.GetUtcNow();

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var current = knobs.CurrentValue;
        if (current.ForceUnready)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("RAMCOIN_FORCE_UNREADY is set"));
        }

        var warming = TimeSpan.FromMilliseconds(current.SlowStartMs) - (time.GetUtcNow() - _started);
        return Task.FromResult(warming > TimeSpan.Zero
            ? HealthCheckResult.Unhealthy($"slow start: ready in {warming.TotalSeconds:F1} s (RAMCOIN_SLOW_START_MS)")
            : HealthCheckResult.Healthy());
    }
}
