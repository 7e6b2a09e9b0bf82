using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RamCoin.ServiceDefaults;

/// <summary>A setting that can change at run time: its name, its value in effect (its options, validated as they are read).</summary>
public sealed record Knob(string Name, Func<IServiceProvider, string?> Current);

/// <summary>
/// <c>GET /admin/knobs</c> shows this service's lesson knobs; <c>PUT /admin/knobs</c> with a JSON object
/// (<c>{"RNG_DELAY_MS": 0}</c>) changes them, with <c>Authorization: Bearer &lt;RAMCOIN_ADMIN_TOKEN&gt;</c>.
/// Without a configured token, run-time changes are refused. Every change is logged.
/// </summary>
public static class AdminApi
{
    /// <summary>Registers a knob read from the service's options (so a bad value fails their validation).</summary>
    public static IServiceCollection AddKnob<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions>(this IServiceCollection services, string name, Func<TOptions, object?> value)
        where TOptions : class =>
        services.AddSingleton(new Knob(name, sp => Convert.ToString(value(sp.GetRequiredService<IOptionsMonitor<TOptions>>().CurrentValue), CultureInfo.InvariantCulture)));

    public static void MapAdminApi(this WebApplication app)
    {
        var group = app.MapGroup("/admin").WithTags("admin");
        group.MapGet("/knobs", (IEnumerable<Knob> knobs, IServiceProvider services) =>
            TypedResults.Ok(knobs.ToDictionary(k => k.Name, k => k.Current(services))))
            .WithName("GetKnobs").WithSummary("This service's lesson knobs and their values in effect");
        group.MapPut("/knobs", ChangeKnobsAsync)
            .WithName("ChangeKnobs").WithSummary("Change knobs: a JSON object of names and values, with Authorization: Bearer <RAMCOIN_ADMIN_TOKEN>")
            .Produces<Dictionary<string, string?>>().ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
    }

    private static async Task<IResult> ChangeKnobsAsync(
        HttpContext context, IEnumerable<Knob> knobs, RuntimeSettings runtime, IConfiguration configuration, ILoggerFactory loggers)
    {
        var token = configuration["RAMCOIN_ADMIN_TOKEN"];
        if (string.IsNullOrEmpty(token))
        {
            return ServiceHost.Problem(StatusCodes.Status403Forbidden, "Run-time changes are disabled", "Set RAMCOIN_ADMIN_TOKEN to allow them.");
        }

        var given = context.Request.Headers.Authorization.ToString();
        if (!given.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return ServiceHost.Problem(StatusCodes.Status401Unauthorized, "Token required", "Send Authorization: Bearer <RAMCOIN_ADMIN_TOKEN>.");
        }

        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given[7..].Trim()), Encoding.UTF8.GetBytes(token)))
        {
            return ServiceHost.Problem(StatusCodes.Status403Forbidden, "Wrong token", "The token does not match RAMCOIN_ADMIN_TOKEN.");
        }

        Dictionary<string, string?> changes;
        try
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            if (body.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("not an object");
            }

            changes = body.RootElement.EnumerateObject().ToDictionary(
                p => p.Name,
                p => p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString(),
                    JsonValueKind.Null => null,
                    _ => p.Value.GetRawText(),
                });
        }
        catch (JsonException)
        {
            return ServiceHost.Problem(StatusCodes.Status400BadRequest, "Not a JSON object", "Send a JSON object of knob names and values, such as {\"RNG_DELAY_MS\": 0}.");
        }

        var known = knobs.ToDictionary(k => k.Name);
        var unknown = changes.Keys.Where(k => !known.ContainsKey(k)).ToList();
        if (unknown.Count > 0)
        {
            return ServiceHost.Problem(StatusCodes.Status400BadRequest, "Unknown knob",
                $"{string.Join(", ", unknown)}: this service's knobs are {string.Join(", ", known.Keys)}.");
        }

        var before = changes.Keys.ToDictionary(k => k, k => known[k].Current(context.RequestServices));
        var previous = runtime.Set(changes);
        try
        {
            // Options that reload check themselves at once (their change callbacks validate), or below.
            runtime.Reload();
            foreach (var name in changes.Keys)
            {
                _ = known[name].Current(context.RequestServices);
            }
        }
        catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException or AggregateException)
        {
            runtime.Set(previous);
            runtime.Reload();
            // Change callbacks report through an AggregateException; the inner messages name the settings.
            var reasons = ex is AggregateException aggregate ? aggregate.Flatten().InnerExceptions.Select(e => e.Message).Distinct() : [ex.Message];
            return ServiceHost.Problem(StatusCodes.Status400BadRequest, "Invalid value", string.Join(" ", reasons));
        }

        var logger = loggers.CreateLogger("RamCoin.Admin");
        foreach (var (name, value) in changes)
        {
            logger.LogWarning("Knob {Name} changed from {Before} to {After} through the admin API", name, before[name] ?? "(default)", value ?? "(default)");
        }

        return TypedResults.Ok(known.Values.ToDictionary(k => k.Name, k => k.Current(context.RequestServices)));
    }
}
