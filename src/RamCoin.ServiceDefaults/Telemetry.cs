using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace RamCoin.ServiceDefaults;

/// <summary>
/// Metrics in Prometheus text format at <c>/metrics</c> on every service, and traces exported with OTLP when
/// the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, through OpenTelemetry.
/// </summary>
public static class Telemetry
{
    /// <summary>Every RamCoin meter and activity source is named <c>RamCoin.&lt;Service&gt;</c>.</summary>
    public const string Prefix = "RamCoin.";

    /// <summary>The worker's traces: one per mining loop, with the rng and hasher calls as children.</summary>
    public static readonly ActivitySource Worker = new(Prefix + "Worker");

    public static void AddTelemetry(this WebApplicationBuilder builder, ServiceIdentity identity)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("ramcoin-" + identity.Service, serviceVersion: identity.Version, serviceInstanceId: identity.HostName))
            .WithMetrics(metrics =>
            {
                // Polly: the worker's retries and circuit-breaker events (resilience_polly_strategy_events_total).
                metrics.AddMeter(Prefix + "*", "Polly")
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddProcessInstrumentation()
                    // No scrape cache: two scrapes a moment apart must see the traffic between them.
                    .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(Prefix + "*")
                    .AddAspNetCoreInstrumentation(o => o.Filter = c => !IsPlumbing(c.Request.Path))
                    .AddHttpClientInstrumentation();
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            });
    }

    public static void MapTelemetry(this WebApplication app) => app.MapPrometheusScrapingEndpoint("/metrics");

    /// <summary>Scrapes, probes and event streams: not worth a trace each.</summary>
    private static bool IsPlumbing(Microsoft.AspNetCore.Http.PathString path) =>
        path.StartsWithSegments("/metrics") || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/events");
}
