using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using RamCoin.ServiceDefaults;
using StackExchange.Redis;

namespace RamCoin.WebUI;

/// <summary>DockerCoins' <c>/json</c>: coins in the wallet, hashes counted, and the server's clock in unix seconds.</summary>
public sealed record MiningSnapshot(long Coins, long Hashes, double Now);

public static class WebUIApi
{
    public static WebApplicationBuilder AddWebUI(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddValidatedOptions<WebUIOptions, WebUIOptionsValidator>((_, _) => { }, o => configuration.Bind(o));
        builder.Services.AddStoreClient(configuration);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, WebUIJsonContext.Default));
        return builder;
    }

    public static RouteGroupBuilder MapWebUIApi(this WebApplication app)
    {
        var files = new PhysicalFileProvider(app.Services.GetRequiredService<IOptions<WebUIOptions>>().Value.ResolveFilesPath());
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            // The course edits index.html live; browsers must not keep an old copy.
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = "no-cache",
        });

        var group = app.MapGroup("");
        // Relative, so that it also works behind kubectl proxy's path prefix.
        group.MapGet("/", () => TypedResults.Redirect("index.html"));
        group.MapGet("/json", GetSnapshotAsync);
        return group;
    }

    private static async Task<IResult> GetSnapshotAsync(StoreClient store, TimeProvider time)
    {
        try
        {
            var db = await store.GetDatabaseAsync();
            var coins = db.HashLengthAsync(StoreKeys.Wallet);
            var hashes = db.StringGetAsync(StoreKeys.Hashes);
            await Task.WhenAll(coins, hashes);
            var now = time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
            return TypedResults.Ok(new MiningSnapshot(coins.Result, hashes.Result.TryParse(out long h) ? h : 0, now));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return ServiceHost.Problem(StatusCodes.Status503ServiceUnavailable, "Store unavailable", ex.Message);
        }
    }
}

[JsonSerializable(typeof(MiningSnapshot))]
internal sealed partial class WebUIJsonContext : JsonSerializerContext;
