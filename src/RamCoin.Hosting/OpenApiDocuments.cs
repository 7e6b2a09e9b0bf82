using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;

namespace RamCoin.Hosting;

/// <summary>
/// Every service's OpenAPI document (<c>GET /openapi/v1.json</c>), made from its endpoints' metadata
/// (<c>WithName</c>, <c>WithSummary</c>, <c>Produces</c>): the wire contract in code.
/// </summary>
public static class OpenApiDocuments
{
    public const string DocumentName = "v1";

    /// <summary>Two segments: never rng's <c>GET /{count}</c>, nor a DockerCoins path.</summary>
    public const string Path = "/openapi/" + DocumentName + ".json";

    public static void AddServiceOpenApi(this WebApplicationBuilder builder, ServiceIdentity identity) =>
        builder.Services.AddOpenApi(DocumentName, o =>
        {
            o.AddDocumentTransformer((document, context, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "RamCoin " + identity.Service,
                    Version = identity.Version,
                    Description = "Answers every endpoint may also give: 404, 405 (with Allow), 408, 414, 431, and the lesson knobs' injected 500, all application/problem+json.",
                };
                AddPlainEndpoints(document, context.ApplicationServices.GetRequiredService<EndpointDataSource>());
                return Task.CompletedTask;
            });
            o.AddOperationTransformer((operation, context, _) =>
            {
                AddBodylessContentTypes(operation.Responses, context.Description.ActionDescriptor.EndpointMetadata.OfType<IProducesResponseTypeMetadata>());
                return Task.CompletedTask;
            });
        });

    public static void MapServiceOpenApi(this WebApplication app) => app.MapOpenApi(Path);

    /// <summary>
    /// ASP.NET's API explorer describes route handlers only; health checks and the metrics scrape are plain
    /// request delegates. Those that carry response metadata are described here from the same metadata, with
    /// their real route and methods.
    /// </summary>
    private static void AddPlainEndpoints(OpenApiDocument document, EndpointDataSource endpoints)
    {
        document.Paths ??= [];
        foreach (var endpoint in endpoints.Endpoints.OfType<RouteEndpoint>())
        {
            var metadata = endpoint.Metadata;
            if (metadata.GetMetadata<System.Reflection.MethodInfo>() is not null
                || metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is { ExcludeFromDescription: true }
                || metadata.GetOrderedMetadata<IProducesResponseTypeMetadata>().Count == 0
                || metadata.GetMetadata<IHttpMethodMetadata>() is not { } methods)
            {
                continue;
            }

            var path = "/" + endpoint.RoutePattern.RawText?.TrimStart('/');
            if (!document.Paths.TryGetValue(path, out var item))
            {
                item = new OpenApiPathItem();
                document.Paths[path] = item;
            }

            foreach (var (method, i) in methods.HttpMethods.Select((m, i) => (m, i)))
            {
                // Operation ids are unique in a document: GET keeps the name, HEAD gets a suffix.
                ((OpenApiPathItem)item).AddOperation(HttpMethod.Parse(method), Describe(document, metadata, i == 0 ? "" : method));
            }
        }
    }

    /// <summary>
    /// <c>Produces(200, contentType: "text/plain")</c> without a body type: ASP.NET's generator drops the content
    /// type (it has no schema to put under it); the contract needs it, with no schema.
    /// </summary>
    private static void AddBodylessContentTypes(OpenApiResponses? responses, IEnumerable<IProducesResponseTypeMetadata> produced)
    {
        foreach (var produces in produced)
        {
            if (responses?.GetValueOrDefault(produces.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)) is OpenApiResponse response)
            {
                response.Content ??= new Dictionary<string, OpenApiMediaType>();
                foreach (var contentType in produces.ContentTypes)
                {
                    response.Content.TryAdd(contentType, new OpenApiMediaType());
                }
            }
        }
    }

    private static OpenApiOperation Describe(OpenApiDocument document, EndpointMetadataCollection metadata, string idSuffix)
    {
        var responses = new OpenApiResponses();
        foreach (var produces in metadata.GetOrderedMetadata<IProducesResponseTypeMetadata>())
        {
            responses[produces.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new OpenApiResponse
            {
                Description = produces.Description ?? ReasonPhrases.GetReasonPhrase(produces.StatusCode),
                Content = produces.ContentTypes.ToDictionary(t => t, _ => new OpenApiMediaType()),
            };
        }

        var tags = new HashSet<OpenApiTagReference>();
        foreach (var tag in metadata.GetOrderedMetadata<ITagsMetadata>().SelectMany(t => t.Tags))
        {
            document.Tags ??= new HashSet<OpenApiTag>();
            document.Tags.Add(new OpenApiTag { Name = tag });
            tags.Add(new OpenApiTagReference(tag, document));
        }

        return new OpenApiOperation
        {
            OperationId = metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName + idSuffix,
            Tags = tags,
            Summary = metadata.GetMetadata<IEndpointSummaryMetadata>()?.Summary,
            Description = metadata.GetMetadata<IEndpointDescriptionMetadata>()?.Description,
            Responses = responses,
        };
    }

    /// <summary>Response metadata for a plain request delegate (the route handlers' <c>Produces</c> is for those only).</summary>
    public static TBuilder Answers<TBuilder>(this TBuilder builder, int statusCode, params string[] contentTypes)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ProducesResponseTypeMetadata(statusCode, null, contentTypes));
}
