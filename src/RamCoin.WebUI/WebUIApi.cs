using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;

namespace RamCoin.WebUI;

/// <summary>
/// DockerCoins' <c>/json</c>: coins in the wallet, hashes counted, and the server's clock in unix seconds;
/// plus whether these are the last values read while the store does not answer, and since when.
/// </summary>
public sealed record MiningSnapshot(long Coins, long Hashes, double Now)
{
    public bool Stale { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? StaleSince { get; init; }
}

public static class WebUIApi
{
    public static WebApplicationBuilder AddWebUI(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddValidatedOptions<WebUIOptions, WebUIOptionsValidator>(configuration, (c, o) => c.Bind(o));
        builder.Services.AddHttpClient(KnobsProxy.Client, c =>
            {
                c.Timeout = TimeSpan.FromSeconds(3);
                c.MaxResponseContentBufferSize = KnobsProxy.MaxAnswerBytes;
            })
            // A redirect would send the teacher's request somewhere the settings never named.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        builder.Services.AddTransient<Microsoft.AspNetCore.Hosting.IStartupFilter, DashboardSecurityHeadersFilter>();
        builder.Services.AddStoreClient(configuration);
        builder.Services.AddSingleton<StoreKeyWarnings>();
        builder.Services.AddSingleton<MiningSnapshotSource>();
        builder.Services.AddSingleton<DashboardStoreReader>();
        builder.Services.AddSingleton<DashboardBroadcaster>();
        builder.Services.AddSingleton<TimelineRecorder>();
        builder.Services.AddSingleton<DashboardSampler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DashboardSampler>());
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, WebUIJsonContext.Default));
        builder.AddEventStreamConnections();
        // Every stream is a connection: the service's cap leaves room for as many as WEBUI_MAX_STREAMS allows.
        builder.Services.Replace(ServiceDescriptor.Singleton(sp => new ConnectionCap(
            sp.GetRequiredService<HostingOptions>().MaxConnections + sp.GetRequiredService<IOptions<WebUIOptions>>().Value.MaxStreams)));
        return builder;
    }

    public static RouteGroupBuilder MapWebUIApi(this WebApplication app)
    {
        var files = new PhysicalFileProvider(app.Services.GetRequiredService<IOptions<WebUIOptions>>().Value.ResolveFilesPath());
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = c =>
            {
                // The course edits index.html live; browsers must not keep an old copy.
                c.Context.Response.Headers.CacheControl = "no-cache";
                if (c.File.Name.EndsWith(".html", StringComparison.OrdinalIgnoreCase))
                {
                    c.Context.Response.Headers.ContentSecurityPolicy = DashboardSecurityHeaders.ForPage(c.File);
                }
            },
        });

        // Connect to the store now, so that the first /json answers with data rather than waiting for a connection.
        _ = app.Services.GetRequiredService<MiningSnapshotSource>().ReadAsync();

        var group = app.MapGroup("").WithTags(ServiceNames.WebUI);
        // Relative, so that it also works behind kubectl proxy's path prefix.
        group.MapGet("/", () => TypedResults.Redirect("index.html"))
            .WithName("RedirectToPage").WithSummary("302 to index.html, the page (its static files are not in this document)").Produces(StatusCodes.Status302Found);
        group.MapGet("/json", GetSnapshotAsync)
            .WithName("GetMiningSnapshot").WithSummary("DockerCoins' {coins, hashes, now}, with stale and staleSince while the store is away")
            .Produces<MiningSnapshot>().ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        // Pushed once a second; a page that cannot keep an event stream open polls dashboard.json instead.
        group.MapGet("/events", StreamAsync)
            .WithName("StreamDashboard").WithSummary("Server-Sent Events: one dashboard event a second; 503 past WEBUI_MAX_STREAMS")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream").ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .DisableRequestTimeout();
        group.MapKnobsProxy();
        group.MapGet("/history.json", (DashboardSampler sampler) => TypedResults.Ok(sampler.History()))
            .WithName("GetHistory").WithSummary("The charts' last five minutes and the timeline's events");
        group.MapTimeline();
        group.MapGet("/dashboard.json", (DashboardSampler sampler) =>
            sampler.LatestJson is { } json
                ? Results.Text(json, "application/json", System.Text.Encoding.UTF8)
                : ServiceHost.Problem(StatusCodes.Status503ServiceUnavailable, "Not ready", "The first sample of the store is not taken yet."))
            .WithName("GetDashboard").WithSummary("The latest dashboard, the same JSON as an /events event")
            .Produces<Dashboard>().ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return group;
    }

    /// <summary>The live feed: each tick's event, serialized and encoded once for every viewer; at most WEBUI_MAX_STREAMS at once.</summary>
    private static async Task StreamAsync(HttpContext context, DashboardBroadcaster broadcaster, IOptions<WebUIOptions> options, IHostApplicationLifetime lifetime)
    {
        if (!broadcaster.TryEnter(options.Value.MaxStreams))
        {
            context.Response.Headers.RetryAfter = "30";
            await ServiceHost.Problem(
                StatusCodes.Status503ServiceUnavailable,
                "Too many live viewers",
                $"This web UI serves at most {options.Value.MaxStreams} live streams (WEBUI_MAX_STREAMS); poll dashboard.json instead.")
                .ExecuteAsync(context);
            return;
        }

        try
        {
            // The same bytes for every viewer, written as they are by the broadcaster's one loop: this request only waits.
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();
            await context.Response.StartAsync(context.RequestAborted);
            // The stop ends the streams first: Kestrel's own stop would otherwise wait for them to its timeout.
            using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
            await broadcaster.StreamAsync(context.Response.BodyWriter, ended.Token);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The viewer went away.
        }
        finally
        {
            broadcaster.Leave();
        }
    }

    private static async Task<IResult> GetSnapshotAsync(MiningSnapshotSource source) =>
        await source.ReadAsync() is { } snapshot
            ? TypedResults.Ok(snapshot)
            : ServiceHost.Problem(
                StatusCodes.Status503ServiceUnavailable,
                "Store unavailable",
                "The store has not answered since this web UI started; the page retries by itself.");
}

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(MiningSnapshot))]
[JsonSerializable(typeof(Dashboard))]
[JsonSerializable(typeof(DashboardHistory))]
[JsonSerializable(typeof(Timeline))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, JsonElement>))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class WebUIJsonContext : JsonSerializerContext;
