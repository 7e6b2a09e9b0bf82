using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace RamCoin.Hosting;

/// <summary>
/// What every RamCoin host uses beside its defaults (<see cref="ServiceDefaults"/>): the one log format, validated
/// options, the API group with DockerCoins' <c>GET /</c>, and problem answers.
/// </summary>
public static class ServiceHost
{
    /// <summary>Probes and scrapes: GET and HEAD only, so any other method gets 405 like every other endpoint.</summary>
    internal static readonly HttpMethodMetadata ReadOnlyMethods = new([HttpMethods.Get, HttpMethods.Head]);

    /// <summary>
    /// One log format for every service: one line per event, with a timestamp; JSON lines instead when the
    /// standard setting asks for it (<c>Logging__Console__FormatterName=json</c>).
    /// </summary>
    public static void ConfigureLogging(ILoggingBuilder logging, IConfiguration configuration)
    {
        logging.ClearProviders();
        if (string.Equals(configuration["Logging:Console:FormatterName"], "json", StringComparison.OrdinalIgnoreCase))
        {
            logging.AddJsonConsole(o => o.TimestampFormat = "O");
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
        }

        // Per-request framework logs would drown the lesson's log lines (the worker's counter line).
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Off, not Warning: while this category logs at all, ASP.NET makes an Activity and a log scope for every
        // request (bench/ profile: 3 % of hasher). It logs only request lines and errors the exception handler
        // logs anyway.
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        // Polly logs every retry with a stack trace; the worker logs its failures itself, at most once a second.
        logging.AddFilter("Polly", LogLevel.None);
        // A failed start is reported by the launcher in one line; the host's stack trace adds nothing.
        logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
    }

    /// <summary>
    /// Registers an options class bound from the configuration (its profile's layer lowest, <see cref="ProfileDefaults"/>;
    /// then environment, command line), validated at start so that a bad value stops the service with its name;
    /// its <see cref="KnobAttribute"/> settings go to the admin API.
    /// </summary>
    /// <param name="bind">Binds a configuration; a lambda at the call site so that the binder is source-generated.</param>
    public static OptionsBuilder<TOptions> AddValidatedOptions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor | DynamicallyAccessedMemberTypes.PublicProperties)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(
        this IServiceCollection services, IConfiguration configuration, Action<IConfiguration, TOptions> bind)
        where TOptions : class, new()
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
        Knob.AddAll<TOptions>(services);
        // The admin API checks a change on a copy bound the same way before it applies it (OptionsCheck).
        services.AddSingleton(sp => new OptionsCheck(candidate =>
        {
            var options = new TOptions();
            bind(candidate, options);
            return sp.GetServices<IValidateOptions<TOptions>>()
                .Select(v => v.Validate(Options.DefaultName, options))
                .Where(r => r.Failed)
                .SelectMany(r => r.Failures ?? []);
        }));
        // IOptionsMonitor recomputes the options when the configuration reloads (the admin API's changes).
        services.AddSingleton<IOptionsChangeTokenSource<TOptions>>(new ConfigurationChangeTokenSource<TOptions>(configuration));
        return services.AddOptions<TOptions>()
            .Configure(o => bind(configuration, o))
            .ValidateOnStart();
    }

    /// <summary>
    /// A service's own options as every service takes them: its fast profile's values as the lowest configuration
    /// layer (<see cref="ProfileDefaults"/>), then bound and checked at start as <see cref="AddValidatedOptions"/> does.
    /// </summary>
    public static OptionsBuilder<TOptions> AddServiceOptions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor | DynamicallyAccessedMemberTypes.PublicProperties)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(
        this IHostApplicationBuilder builder, IReadOnlyDictionary<string, string?> fast, Action<IConfiguration, TOptions> bind)
        where TOptions : class, new()
        where TValidator : class, IValidateOptions<TOptions>
    {
        builder.AddProfileDefaults(Profile.Fast, fast);
        return builder.Services.AddValidatedOptions<TOptions, TValidator>(builder.Configuration, bind);
    }

    /// <summary>
    /// The route group of a service's own API, tagged with its name, with DockerCoins' <c>GET /</c>:
    /// "RNG running on &lt;host&gt;" (the name in capitals), answered at once, calling nothing.
    /// </summary>
    public static RouteGroupBuilder MapApiGroup(this IEndpointRouteBuilder app, string service)
    {
        var group = app.MapGroup("").WithTags(service);
        MapRunningOn(group, service.ToUpperInvariant());
        return group;
    }

    private static RouteHandlerBuilder MapRunningOn(IEndpointRouteBuilder group, string label) =>
        group.MapGet("/", (ServiceIdentity identity) => TypedResults.Text($"{label} running on {identity.HostName}\n"))
            .WithName("RunningOn").WithSummary($"\"{label} running on <host>\", at once, calling nothing").Produces(StatusCodes.Status200OK, contentType: "text/plain");

    /// <summary>The first address a started service listens on, for tests and for the launcher's banner.</summary>
    public static Uri ListeningAddress(this WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.GetRequiredFeature<IServerAddressesFeature>();
        return new Uri(addresses.Addresses.First());
    }

    /// <summary>Answers a problem-details body with a status code, the one way bad input is refused.</summary>
    public static IResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title);
}

[JsonSerializable(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))]
// The admin API's knobs: without it, GET /admin/knobs (and the OpenAPI document's schema) failed with 500 under Native AOT.
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class ServiceDefaultsJsonContext : JsonSerializerContext;
