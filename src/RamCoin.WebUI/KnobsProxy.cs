using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using RamCoin.ServiceDefaults;

namespace RamCoin.WebUI;

/// <summary>
/// The dashboard's knob controls: the page can reach only the web UI, so the web UI passes reads and changes
/// on to the admin APIs of rng, hasher and a worker. The teacher's token goes through as it came; the web UI
/// keeps none.
/// </summary>
public static class KnobsProxy
{
    public const string Client = "knobs";
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

    private static async Task<IResult> ReadAllAsync(IHttpClientFactory clients, IOptions<WebUIOptions> options, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(Client);
        var results = new Dictionary<string, JsonElement>();
        foreach (var service in Services)
        {
            try
            {
                var url = options.Value.UrlOf(service)!.TrimEnd('/') + "/admin/knobs";
                await using var stream = await http.GetStreamAsync(url, cancellationToken);
                results[service] = (await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken)).RootElement.Clone();
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
            {
                results[service] = JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["error"] = ex.Message }, WebUIJsonContext.Default.DictionaryStringString);
            }
        }

        return TypedResults.Ok(results);
    }

    private static async Task<IResult> ChangeAsync(
        string service, HttpRequest request, IHttpClientFactory clients, IOptions<WebUIOptions> options, CancellationToken cancellationToken)
    {
        var baseUrl = options.Value.UrlOf(service);
        if (baseUrl is null)
        {
            return ServiceHost.Problem(StatusCodes.Status404NotFound, "Unknown service", $"'{service}' is not one of {string.Join(", ", Services)}.");
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken);
        using var forward = new HttpRequestMessage(HttpMethod.Put, baseUrl.TrimEnd('/') + "/admin/knobs")
        {
            Content = new ByteArrayContent(body.ToArray()),
        };
        forward.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (AuthenticationHeaderValue.TryParse(request.Headers.Authorization, out var authorization))
        {
            forward.Headers.Authorization = authorization;
        }

        try
        {
            using var answer = await clients.CreateClient(Client).SendAsync(forward, cancellationToken);
            var content = await answer.Content.ReadAsStringAsync(cancellationToken);
            return TypedResults.Content(content, answer.Content.Headers.ContentType?.ToString() ?? "application/json", statusCode: (int)answer.StatusCode);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return ServiceHost.Problem(StatusCodes.Status502BadGateway, $"{service} unreachable", ex.Message);
        }
    }
}
