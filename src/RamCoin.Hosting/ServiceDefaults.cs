using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenTelemetry.Metrics;

namespace RamCoin.Hosting;

/// <summary>
/// What every RamCoin HTTP service's host needs, standalone or in the launcher, as builder extensions (eShop's
/// ServiceDefaults): identity, logging, problem details, limits, health endpoints, telemetry and OpenAPI. A service
/// reads only its configuration; who started it (its container, the launcher) is said there and nowhere else.
/// </summary>
public static class ServiceDefaults
{
    /// <summary>DockerCoins' services listen on 80 in their containers; so do ours, unless ASP.NET's settings say otherwise.</summary>
    public const int ContainerPort = 80;

    /// <summary>Health checks with this tag answer <c>/readyz</c> only: a pod that is not ready is not restarted.</summary>
    public const string ReadinessTag = "ready";

    /// <param name="sharedMetrics">
    /// In the launcher, the metrics of the first service, which the others' <c>/metrics</c> answer from: the SDK
    /// listens to every service's instruments in the process by name, so a provider per service would aggregate
    /// each measurement once per service.
    /// </param>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder, string service, MeterProvider? sharedMetrics = null)
    {
        var configuration = builder.Configuration;
        // Last, so that run-time changes through the admin API win over everything else.
        var runtime = new RuntimeSettings();
        ((IConfigurationBuilder)configuration).Add(runtime);
        builder.Services.AddSingleton(runtime);

        // Read once, before anything is configured from them. A bad value does not stop the build: the start refuses
        // it, first among the options' checks, named by its variable (exit code 2).
        var checks = new OptionChecks();
        var hosting = HostingOptions.Read(configuration, checks);
        builder.Services.AddSingleton(hosting);
        var identity = Refused(checks, () => ServiceIdentity.For(service, configuration["RAMCOIN_VERSION"])) ?? ServiceIdentity.For(service);
        builder.Services.AddSingleton(identity);

        if (!AspNetChoosesAddress(configuration))
        {
            builder.WebHost.UseUrls($"http://+:{ContainerPort}");
        }

        if (hosting.H2cPort is int h2cPort)
        {
            Refused(checks, () => H2cListener.Configure(builder, h2cPort));
        }

        if (hosting.RunsInline(service))
        {
            builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = true);
            // The runtime's own switch, read by the socket engine when it first starts, which has not happened yet.
            if (Environment.GetEnvironmentVariable(HostingOptions.InlineCompletions) is null)
            {
                Environment.SetEnvironmentVariable(HostingOptions.InlineCompletions, "1");
            }
        }

        builder.Services.AddSingleton<IValidateOptions<SettingsReadAtBuild>>(new SettingsReadAtBuild.Check(checks.Result));
        builder.Services.AddOptions<SettingsReadAtBuild>().ValidateOnStart();

        builder.AddTelemetry(identity, sharedMetrics);
        ServiceHost.ConfigureLogging(builder.Logging, configuration);
        builder.Services.AddProblemDetails();
        builder.AddServiceOpenApi(identity);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddHealthChecks();
        builder.AddRequestLimits(hosting);
        builder.Services.ConfigureHttpJsonOptions(o =>
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, ServiceDefaultsJsonContext.Default));
        // SIGTERM as SigtermHold says (the lessons' RAMCOIN_IGNORE_SIGTERM), instead of the console lifetime; the
        // launcher replaces it with its own, since it answers the signals for every service it hosts.
        builder.Services.AddSingleton<IHostLifetime, StopSignalsLifetime>();
        return builder;
    }

    /// <summary>
    /// The middleware every service runs first (identity headers, access log, problem answers, request limits) and its
    /// default endpoints: <c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c> and the OpenAPI document.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        var identity = app.Services.GetRequiredService<ServiceIdentity>();
        var capacity = app.Services.GetService<ServiceCapacity>();
        app.Use((context, next) =>
        {
            context.Response.Headers[ServiceIdentity.InstanceHeader] = identity.HostName;
            context.Response.Headers[ServiceIdentity.VersionHeader] = identity.Version;
            capacity?.WriteTo(context.Response.Headers);
            return next(context);
        });
        if (app.Services.GetRequiredService<HostingOptions>().AccessLog)
        {
            app.UseAccessLog();
        }

        app.UseExceptionHandler();
        // Empty 4xx/5xx answers (404, 405, 413 from Kestrel) get a problem-details body.
        app.UseStatusCodePages();
        app.UseRequestLimits();
        // GET and HEAD only: any other method gets 405 like every other endpoint.
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = c => !c.Tags.Contains(ReadinessTag) }).WithMetadata(ServiceHost.ReadOnlyMethods)
            .WithTags("probes").WithName("Healthz").WithSummary("Liveness: Healthy, or Unhealthy with 503").Answers(200, "text/plain").Answers(503, "text/plain");
        app.MapHealthChecks("/readyz").WithMetadata(ServiceHost.ReadOnlyMethods)
            .WithTags("probes").WithName("Readyz").WithSummary("Readiness (the lesson knobs can fail it): Healthy, or Unhealthy with 503").Answers(200, "text/plain").Answers(503, "text/plain");
        app.MapTelemetry();
        app.MapServiceOpenApi();
        return app;
    }

    /// <summary>ASP.NET's own settings say where the service listens: <c>--urls</c>, ASPNETCORE_URLS, _HTTP_PORTS or _HTTPS_PORTS.</summary>
    public static bool AspNetChoosesAddress(IConfiguration configuration) =>
        new[] { WebHostDefaults.ServerUrlsKey, WebHostDefaults.HttpPortsKey, WebHostDefaults.HttpsPortsKey }
            .Any(key => !string.IsNullOrWhiteSpace(configuration[key]));

    /// <summary>Runs a read that may refuse a setting; its failures go to <paramref name="checks"/>.</summary>
    private static T? Refused<T>(OptionChecks checks, Func<T> read)
        where T : class
    {
        try
        {
            return read();
        }
        catch (OptionsValidationException refused)
        {
            foreach (var failure in refused.Failures)
            {
                checks.Check(false, failure);
            }

            return null;
        }
    }

    private static void Refused(OptionChecks checks, Action read) => Refused<object>(checks, () =>
    {
        read();
        return checks;
    });

    /// <summary>The settings read while the host was built, checked at its start before any other options.</summary>
    internal sealed class SettingsReadAtBuild
    {
        internal sealed class Check(ValidateOptionsResult result) : IValidateOptions<SettingsReadAtBuild>
        {
            public ValidateOptionsResult Validate(string? name, SettingsReadAtBuild options) => result;
        }
    }
}
