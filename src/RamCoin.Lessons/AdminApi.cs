using System.Security.Cryptography;
using System.Text;

namespace RamCoin.Lessons;

/// <summary>The admin API's token: trimmed (a Secret file's trailing newline is no part of it), long enough not to be guessed.</summary>
public sealed class AdminOptions
{
    /// <summary>Shorter tokens are refused at start: a teacher's password-like word falls to a few thousand guesses.</summary>
    public const int MinTokenLength = 16;

    [ConfigurationKeyName("RAMCOIN_ADMIN_TOKEN")]
    public string? Token { get; set; }

    /// <summary>The token in effect; null when run-time changes are disabled.</summary>
    public string? EffectiveToken => string.IsNullOrWhiteSpace(Token) ? null : Token.Trim();
}

public sealed class AdminOptionsValidator : IValidateOptions<AdminOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminOptions options) => new OptionChecks()
        .Check(
            options.EffectiveToken is not { Length: < AdminOptions.MinTokenLength },
            $"RAMCOIN_ADMIN_TOKEN must be at least {AdminOptions.MinTokenLength} characters (it has {options.EffectiveToken?.Length}); generate one with: openssl rand -hex 16")
        .Result;
}

/// <summary>
/// Wrong tokens are answered one at a time, each after a pause: at most one guess per pause in this process,
/// however many requests come at once; past <see cref="MaxWaiting"/> waiting guesses the others get 429 at once,
/// so that a flood holds no more than that many connections. A right token never waits.
/// </summary>
public sealed class FailedAttemptGate(TimeSpan pause) : IDisposable
{
    public const int MaxWaiting = 8;

    private readonly SemaphoreSlim _one = new(1, 1);
    private int _waiting;

    public TimeSpan Pause => pause;

    /// <summary>False when too many wrong guesses already wait: answer 429 without the pause.</summary>
    public async Task<bool> PauseAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (Interlocked.Increment(ref _waiting) > MaxWaiting)
            {
                return false;
            }

            await _one.WaitAsync(cancellationToken);
            try
            {
                await Task.Delay(pause, cancellationToken);
            }
            finally
            {
                _one.Release();
            }

            return true;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    public void Dispose() => _one.Dispose();
}

/// <summary>
/// <c>GET /admin/knobs</c> shows this service's lesson knobs; <c>PUT /admin/knobs</c> with a JSON object
/// (<c>{"RNG_DELAY_MS": 0}</c>) changes them, with <c>Authorization: Bearer &lt;RAMCOIN_ADMIN_TOKEN&gt;</c>.
/// Without a configured token, run-time changes are refused. Every change and every wrong token is logged.
/// </summary>
public static class AdminApi
{
    /// <summary>A knobs body is a few dozen bytes; anything past this is refused unread.</summary>
    public const int MaxBodyBytes = 4096;

    /// <summary>The pause before a wrong token's answer: four guesses a second, and the tests stay quick.</summary>
    public static readonly TimeSpan FailedAttemptPause = TimeSpan.FromMilliseconds(250);

    public static IServiceCollection AddAdminApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<AdminOptions, AdminOptionsValidator>(configuration, (c, o) => c.Bind(o));
        services.AddSingleton(_ => new FailedAttemptGate(FailedAttemptPause));
        return services;
    }

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
        HttpContext context, IEnumerable<Knob> knobs, IEnumerable<OptionsCheck> checks, RuntimeSettings runtime, IConfiguration configuration, IOptions<AdminOptions> options, FailedAttemptGate gate, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger("RamCoin.Admin");
        var client = context.Connection.RemoteIpAddress;
        if (options.Value.EffectiveToken is not { } token)
        {
            return ServiceHost.Problem(StatusCodes.Status403Forbidden, "Run-time changes are disabled", "Set RAMCOIN_ADMIN_TOKEN to allow them.");
        }

        var given = context.Request.Headers.Authorization.ToString();
        if (!given.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            logger.LogInformation("Knob change from {Client} refused: no bearer token", client);
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return ServiceHost.Problem(StatusCodes.Status401Unauthorized, "Token required", "Send Authorization: Bearer <RAMCOIN_ADMIN_TOKEN>.");
        }

        // Hashes first: equal lengths, so the comparison's time tells nothing, not even the token's length.
        if (!CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(given[7..].Trim())), SHA256.HashData(Encoding.UTF8.GetBytes(token))))
        {
            logger.LogWarning("Knob change from {Client} refused: wrong token", client);
            if (!await gate.PauseAsync(context.RequestAborted))
            {
                context.Response.Headers.RetryAfter = "1";
                return ServiceHost.Problem(StatusCodes.Status429TooManyRequests, "Too many wrong tokens",
                    $"Wrong tokens are answered one at a time, one each {gate.Pause.TotalMilliseconds:F0} ms; try again later.");
            }

            return ServiceHost.Problem(StatusCodes.Status403Forbidden, "Wrong token", "The token does not match RAMCOIN_ADMIN_TOKEN.");
        }

        if (await RequestLimits.ReadSmallBodyAsync(context.Request, MaxBodyBytes, context.RequestAborted) is not { } bytes)
        {
            return ServiceHost.Problem(StatusCodes.Status413PayloadTooLarge, "Body too large", $"A knobs body is at most {MaxBodyBytes} bytes.");
        }

        Dictionary<string, string?> changes;
        try
        {
            using var body = JsonDocument.Parse(bytes);
            if (body.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("not an object");
            }

            changes = [];
            foreach (var property in body.RootElement.EnumerateObject())
            {
                var value = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString(),
                    JsonValueKind.Null => null,
                    _ => property.Value.GetRawText(),
                };
                if (!changes.TryAdd(property.Name, value))
                {
                    return ServiceHost.Problem(StatusCodes.Status400BadRequest, "Duplicate knob", $"{property.Name} is given more than once; give each knob once.");
                }
            }
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

        Dictionary<string, string?> before;
        // Checked on a preview, then applied, under one lock: no request ever reads an invalid value, and two
        // changes at once cannot put back each other's values.
        lock (runtime.Changing)
        {
            List<string> failures;
            try
            {
                using var preview = runtime.Preview((IConfigurationRoot)configuration, changes);
                failures = [.. checks.SelectMany(c => c.Failures(preview)).Distinct()];
            }
            catch (InvalidOperationException ex) when (OptionChecks.Unconvertible(ex) is { } reason)
            {
                failures = [reason];
            }

            if (failures.Count > 0)
            {
                return ServiceHost.Problem(StatusCodes.Status400BadRequest, "Invalid value", string.Join(" ", failures));
            }

            before = changes.Keys.ToDictionary(k => k, k => known[k].Current(context.RequestServices));
            runtime.Apply(changes);
        }

        foreach (var (name, value) in changes)
        {
            logger.LogWarning("Knob {Name} changed from {Before} to {After} through the admin API by {Client}", name, before[name] ?? "(default)", value ?? "(default)", client);
        }

        return TypedResults.Ok(known.Values.ToDictionary(k => k.Name, k => k.Current(context.RequestServices)));
    }
}
