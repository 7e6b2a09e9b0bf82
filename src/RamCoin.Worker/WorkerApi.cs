using Microsoft.AspNetCore.Http.HttpResults;

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
        builder.AddServiceOptions<WorkerOptions, WorkerOptionsValidator>(WorkerOptions.Fast, (c, o) => c.Bind(o));
        builder.Services.AddStoreClient(builder.Configuration);
        builder.Services.AddSingleton<WorkerTelemetry>();
        builder.Services.AddSingleton<WorkerMetrics>();
        builder.Services.AddSingleton<StoreKeyWarnings>();
        builder.Services.AddSingleton(sp => new MiningStats(sp.GetRequiredService<IOptions<WorkerOptions>>().Value.MaxPendingCoins));
        builder.Services.AddPeerClients();
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
        var group = app.MapApiGroup(ServiceNames.Worker);
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
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(WorkerStatus))]
public sealed partial class WorkerJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
