using System.Net;
using System.Net.Http.Headers;
using System.Text;
using RamCoin.Lessons;

namespace RamCoin.WebUI;

/// <summary>
/// The dashboard's knob controls: the page can reach only the web UI, so the web UI passes reads and changes
/// on to the admin APIs of rng, hasher and a worker. The teacher's token goes through as it came; the web UI
/// keeps none. What the page gets back is always JSON: a service's own JSON answer, or a problem.
/// </summary>
public static class KnobsProxy
{
    public const string Client = "knobs";

    /// <summary>The most read of a service's answer: a knob list is a few names and numbers.</summary>
    public const int MaxAnswerBytes = 64 * 1024;

    private static readonly string[] Services = ["rng", "hasher", "worker"];

    public static void MapKnobsProxy(this RouteGroupBuilder group)
    {
        group.MapGet("/knobs", ReadAllAsync)
            .WithName("GetAllKnobs").WithSummary("The knobs of rng, hasher and a worker, read from their admin APIs")
            .Produces<Dictionary<string, JsonElement>>();
        group.MapPut("/knobs/{service}", ChangeAsync)
            .WithName("ChangeServiceKnobs").WithSummary("Passes a change and its bearer token on to that service's PUT /admin/knobs, and its answer back")
            .Produces<Dictionary<string, JsonElement>>().ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status502BadGateway);
    }

    private static async Task<IResult> ReadAllAsync(IHttpClientFactory clients, IOptions<WebUIOptions> options, TimelineRecorder timeline, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(Client);
        var results = new Dictionary<string, JsonElement>();
        foreach (var service in Services)
        {
            string? error;
            try
            {
                using var request = Forward(HttpMethod.Get, options.Value.UrlOf(service)!);
                using var answer = await http.SendAsync(request, cancellationToken);
                var body = await answer.Content.ReadAsByteArrayAsync(cancellationToken);
                if (answer.StatusCode != HttpStatusCode.OK)
                {
                    error = $"{service} answered {(int)answer.StatusCode}.";
                }
                else if (ParseJson(body) is { ValueKind: JsonValueKind.Object } knobs && IsKnobList(knobs))
                {
                    // What the page shows now: a change through it is timed against these values.
                    timeline.KnobsRead(service, Values(knobs));
                    results[service] = knobs;
                    continue;
                }
                else
                {
                    error = $"{service} did not answer a list of knobs.";
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                error = ex.Message;
            }

            results[service] = JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["error"] = error }, WebUIJsonContext.Default.DictionaryStringString);
        }

        return TypedResults.Ok(results);
    }

    private static async Task<IResult> ChangeAsync(
        string service, HttpRequest request, IHttpClientFactory clients, IOptions<WebUIOptions> options, TimelineRecorder timeline, ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var baseUrl = options.Value.UrlOf(service);
        if (baseUrl is null)
        {
            return ServiceHost.Problem(StatusCodes.Status404NotFound, "Unknown service", $"'{service}' is not one of {string.Join(", ", Services)}.");
        }

        // No token, no work: nothing is read or sent on for a request that cannot change anything.
        if (!AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var authorization)
            || !authorization.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)
            || string.IsNullOrWhiteSpace(authorization.Parameter))
        {
            request.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
            return ServiceHost.Problem(StatusCodes.Status401Unauthorized, "Token required", "Type the admin token (RAMCOIN_ADMIN_TOKEN) first.");
        }

        if (await RequestLimits.ReadSmallBodyAsync(request, AdminApi.MaxBodyBytes, cancellationToken) is not { } body)
        {
            return ServiceHost.Problem(StatusCodes.Status413PayloadTooLarge, "Body too large", $"A knobs body is at most {AdminApi.MaxBodyBytes} bytes.");
        }

        using var forward = Forward(HttpMethod.Put, baseUrl);
        forward.Content = new ByteArrayContent(body);
        forward.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        forward.Headers.Authorization = authorization;
        try
        {
            using var answer = await clients.CreateClient(Client).SendAsync(forward, cancellationToken);
            var content = await answer.Content.ReadAsByteArrayAsync(cancellationToken);
            var status = (int)answer.StatusCode;
            var mediaType = answer.Content.Headers.ContentType?.MediaType;
            // The admin API answers JSON (200) or a problem (4xx); anything else is not passed to the page.
            if (status is >= 200 and < 300 or >= 400 and < 500
                && mediaType is "application/json" or "application/problem+json"
                && ParseJson(content) is { } parsed)
            {
                if (status == StatusCodes.Status200OK && parsed.ValueKind == JsonValueKind.Object && IsKnobList(parsed))
                {
                    timeline.KnobsChanged(service, Values(parsed));
                }

                return TypedResults.Content(Encoding.UTF8.GetString(content), $"{mediaType}; charset=utf-8", statusCode: status);
            }

            loggers.CreateLogger(typeof(KnobsProxy).FullName!).LogWarning(
                "{Service} answered a knob change with {Status} {MediaType}, not JSON", service, status, mediaType ?? "(no type)");
            return ServiceHost.Problem(StatusCodes.Status502BadGateway, $"{service} answered badly",
                $"{service} answered {status} {mediaType ?? "without a content type"}, not the admin API's JSON.");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return ServiceHost.Problem(StatusCodes.Status502BadGateway, $"{service} unreachable", ex.Message);
        }
    }

    /// <summary>A knob list's values (the answer was checked: every value is a string or null).</summary>
    private static Dictionary<string, string?> Values(JsonElement knobs) =>
        knobs.EnumerateObject().Take(100).ToDictionary(k => k.Name, k => k.Value.GetString(), StringComparer.Ordinal);

    /// <summary>A request to a service's admin API.</summary>
    private static HttpRequestMessage Forward(HttpMethod method, string baseUrl) =>
        new(method, new Uri(PeerAddresses.BaseAddress(baseUrl), "admin/knobs"));

    private static JsonElement? ParseJson(byte[] content)
    {
        try
        {
            using var document = JsonDocument.Parse(content);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>What the admin API's GET answers: knob names, each once, and their values as strings (null for none).</summary>
    private static bool IsKnobList(JsonElement knobs)
    {
        // A name given twice is not an admin API's answer (and would break the dictionaries made of it).
        var names = new HashSet<string>(StringComparer.Ordinal);
        return knobs.EnumerateObject().All(k => k.Value.ValueKind is JsonValueKind.String or JsonValueKind.Null && names.Add(k.Name));
    }
}
