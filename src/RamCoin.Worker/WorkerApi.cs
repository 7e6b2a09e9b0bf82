using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Http.Resilience;

namespace RamCoin.Worker;

/// <summary>What <c>GET /status</c> answers: this instance's totals, to compare with the store.</summary>
public sealed record WorkerStatus(
    string InstanceId,
    string Version,
    long HashesComputed,
    long HashesWritten,
    long HashesPending,
    long CoinsFound,
    long CoinsWritten,
    long CoinsPending,
    long CoinsDropped,
    long Errors);

public static class WorkerApi
{
    public static WebApplicationBuilder AddWorker(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddValidatedOptions<WorkerOptions, WorkerOptionsValidator>(configuration, o => configuration.Bind(o));
        builder.Services.AddStoreClient(configuration);
        builder.Services.AddSingleton<WorkerTelemetry>();
        builder.Services.AddSingleton<WorkerMetrics>();
        builder.Services.AddSingleton<StoreKeyWarnings>();
        builder.Services
            .AddKnob<WorkerOptions>("WORKER_DELAY_MS", o => o.DelayMs)
            .AddKnob<WorkerOptions>("DIFFICULTY", o => o.Difficulty);
        builder.Services.AddSingleton(sp => new MiningStats(sp.GetRequiredService<IOptions<WorkerOptions>>().Value.MaxPendingCoins));
        AddPeerClient<RngClient>(builder.Services, o => o.RngUrl);
        AddPeerClient<HasherClient>(builder.Services, o => o.HasherUrl);
        // Registered before the loops so that it stops after them: the last flush sees every finished loop.
        builder.Services.AddSingleton<HashCounterFlusher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HashCounterFlusher>());
        builder.Services.AddHostedService<MiningLoops>();
        builder.Services.AddSingleton<DepartedWorkerPruner>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DepartedWorkerPruner>());
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, WorkerJsonContext.Default));
        return builder;
    }

    public static RouteGroupBuilder MapWorkerApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("").WithTags(ServiceNames.Worker);
        group.MapRunningOn("WORKER");
        group.MapGet("/status", GetStatus).WithName("GetStatus").WithSummary("This instance's totals, to compare with the store");
        return group;
    }

    private static Ok<WorkerStatus> GetStatus(MiningStats stats, HashCounterFlusher flusher, ServiceIdentity identity)
    {
        // Read written before computed: a hash computed in between then shows as pending, never as negative.
        var written = stats.Written;
        var coinsWritten = stats.CoinsWritten;
        var computed = stats.Computed;
        var coinsFound = stats.CoinsFound;
        return TypedResults.Ok(new WorkerStatus(
            flusher.InstanceId, identity.Version, computed, written, computed - written,
            coinsFound, coinsWritten, coinsFound - coinsWritten - stats.CoinsDropped, stats.CoinsDropped, stats.Errors));
    }

    private static void AddPeerClient<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TClient>(IServiceCollection services, Func<WorkerOptions, string> url)
        where TClient : class =>
        services.AddHttpClient<TClient>((sp, http) =>
            {
                var options = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
                var (baseAddress, http2) = PeerAddresses.Endpoint(url(options));
                http.BaseAddress = baseAddress;
                // The resilience pipeline owns the timeouts.
                http.Timeout = Timeout.InfiniteTimeSpan;
                if (http2)
                {
                    http.DefaultRequestVersion = System.Net.HttpVersion.Version20;
                    http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
                }
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                // Like DockerCoins' connection per request, short-lived connections spread the calls over
                // every replica behind one DNS name or Kubernetes Service when rng or hasher is scaled.
                PooledConnectionLifetime = TimeSpan.FromSeconds(1),
                ConnectTimeout = TimeSpan.FromSeconds(2),
                // Over h2c, one connection per 100 loops (Kestrel's stream limit), not a queue behind one.
                EnableMultipleHttp2Connections = true,
            })
            // No per-request log scopes and lines from the client factory: the worker logs failures itself.
            .RemoveAllLoggers()
            .AddResilienceHandler("peer", (pipeline, context) =>
                PeerResilience.Configure(pipeline, context.ServiceProvider.GetRequiredService<IOptions<WorkerOptions>>().Value));
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(WorkerStatus))]
public sealed partial class WorkerJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
