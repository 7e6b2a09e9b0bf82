using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Net;

namespace RamCoin.Worker;

/// <summary>
/// The worker's clients of rng and hasher, through the client factory as every HTTP client here: a typed client per
/// peer, its address from the options (RNG_URL, HASHER_URL), one resilience pipeline (<see cref="PeerResilience"/>)
/// and the answer read inside each try (<see cref="BoundedAnswerHandler"/>).
/// </summary>
public static class PeerHttpClients
{
    public static IServiceCollection AddPeerClients(this IServiceCollection services)
    {
        AddPeerClient<RngClient>(services, ServiceNames.Rng, o => o.RngUrl, RngClient.MaxAnswerBytes);
        AddPeerClient<HasherClient>(services, ServiceNames.Hasher, o => o.HasherUrl, HasherClient.MaxAnswerBytes);
        return services;
    }

    /// <summary>One peer's client; its pipeline is named <c>&lt;TClient&gt;-peer</c> (<c>pipeline_name</c> in the resilience metrics).</summary>
    private static void AddPeerClient<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TClient>(
        IServiceCollection services, string peer, Func<WorkerOptions, string> url, int maxAnswerBytes)
        where TClient : class
    {
        var client = services.AddHttpClient<TClient>((sp, http) =>
            {
                var options = sp.GetRequiredService<IOptions<WorkerOptions>>().Value;
                http.BaseAddress = PeerAddresses.BaseAddress(url(options));
                // The pipeline's per-try timeout bounds each try, its answer included.
                http.Timeout = Timeout.InfiniteTimeSpan;
                http.MaxResponseContentBufferSize = maxAnswerBytes;
                if (options.H2c)
                {
                    // h2c: HTTP/2 with prior knowledge, never a fallback to HTTP/1.1.
                    http.DefaultRequestVersion = HttpVersion.Version20;
                    http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
                }
            })
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                // Like DockerCoins' connection per request, short-lived connections spread the calls over
                // every replica behind one DNS name or Kubernetes Service when rng or hasher is scaled.
                PooledConnectionLifetime = TimeSpan.FromSeconds(1),
                ConnectTimeout = TimeSpan.FromSeconds(2),
                // Over h2c, one connection per 100 loops (Kestrel's stream limit), not a queue behind one.
                EnableMultipleHttp2Connections = true,
                // Each call stands alone, as DockerCoins' were: no cookie jar to fill from answers and search per request.
                UseCookies = false,
                AllowAutoRedirect = false,
                // http.client.request.duration from the service's meters, counted for every try.
                MeterFactory = sp.GetRequiredService<IMeterFactory>(),
            })
            // No log scope and lines per request: the worker logs its failures itself, at most once a second.
            .RemoveAllLoggers();
        // Handlers in the order added, outermost first: the pipeline around each try, the try's answer read inside it.
        client.AddResilienceHandler("peer", (pipeline, context) =>
            PeerResilience.Configure(pipeline, context.ServiceProvider.GetRequiredService<IOptions<WorkerOptions>>().Value));
        client.AddHttpMessageHandler(() => new BoundedAnswerHandler(peer, maxAnswerBytes));
    }
}
