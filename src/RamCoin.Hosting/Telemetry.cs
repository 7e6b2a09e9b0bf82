using System.Diagnostics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace RamCoin.Hosting;

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

    private static readonly string[] DroppedInstruments =
    [
        "resilience.polly.pipeline.duration", "resilience.polly.strategy.attempt.duration",
        "http.client.active_requests", "http.client.open_connections", "aspnetcore.routing.match_attempts",
        "http.server.active_requests",
    ];

    public static void AddTelemetry(this WebApplicationBuilder builder, ServiceIdentity identity, MeterProvider? shared = null)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        builder.Services.AddSingleton(new SharedMetrics(shared));
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("ramcoin-" + identity.Service, serviceVersion: identity.Version, serviceInstanceId: identity.HostName));
        if (shared is null)
        {
            telemetry.WithMetrics(metrics =>
            {
                // Polly: the worker's retries and circuit-breaker events (resilience_polly_strategy_events_total).
                metrics.AddMeter(Prefix + "*", "Polly")
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddProcessInstrumentation();
                // Per-request instruments that cost more than they show (each updates a tagged series once or
                // twice per call): Polly's per-call duration histograms (its events stay),
                // the client's active-request and open-connection gauges (the worker's own gauges show them),
                // routing's match counter, and the server's active-request gauge (rng and hasher count their own).
                // Request durations and ours stay.
                foreach (var dropped in DroppedInstruments)
                {
                    metrics.AddView(dropped, MetricStreamConfiguration.Drop);
                }

                metrics
                    // No scrape cache: two scrapes a moment apart must see the traffic between them.
                    .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
            });
        }

        if (otlp)
        {
            // Traces only when they go somewhere: without a collector, an Activity per request and per loop is
            // work for nothing (as the README's Metrics section says).
            builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing
                .AddSource(Prefix + "*")
                .AddAspNetCoreInstrumentation(o => o.Filter = c => !IsPlumbing(c.Request.Path))
                .AddHttpClientInstrumentation()
                .AddOtlpExporter());
        }
    }

    public static void MapTelemetry(this WebApplication app) =>
        app.MapPrometheusScrapingEndpoint("/metrics", app.Services.GetRequiredService<SharedMetrics>().Provider, null, null)
            .WithMetadata(ServiceHost.ReadOnlyMethods).WithTags("probes").WithName("Metrics").WithSummary("Prometheus text format (OpenMetrics when the scraper asks for it)")
            .Answers(200, "text/plain", "application/openmetrics-text");

    /// <summary>The launcher's one meter provider for the process, or null where this service has its own.</summary>
    private sealed record SharedMetrics(MeterProvider? Provider);

    /// <summary>Scrapes, probes and event streams: not worth a trace each.</summary>
    private static bool IsPlumbing(Microsoft.AspNetCore.Http.PathString path) =>
        path.StartsWithSegments("/metrics") || path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/events");
}
