using System.Buffers;
using System.Diagnostics.Metrics;
using System.Net;
using Polly;

namespace RamCoin.Worker;

/// <summary>
/// One peer (rng or hasher) as the worker calls it: its own connection pool and its resilience pipeline (retries,
/// circuit breaker, per-try timeout), the pipeline called directly around each request.
/// </summary>
/// <remarks>
/// HttpClient, the client factory's handler chain and Microsoft.Extensions.Http.Resilience's DelegatingHandler each
/// added a layer of async state and allocations per call, and HttpClient a linked CancellationTokenSource: at the
/// fast profile's rates a measured share of the worker's CPU (README "Performance"). The connection pool, its
/// settings and the HTTP client metrics (<c>http.client.request.duration</c>) are SocketsHttpHandler's, as before.
/// </remarks>
public sealed class PeerChannel : IDisposable
{
    private readonly HttpMessageInvoker _invoker;
    private readonly Version _version;
    private readonly HttpVersionPolicy _versionPolicy;

    /// <param name="name">The pipeline's name in the resilience metrics (<c>pipeline_name</c>).</param>
    public PeerChannel(string name, string url, WorkerOptions options, IMeterFactory meters, ILoggerFactory logs)
    {
        var (baseAddress, http2) = PeerAddresses.Endpoint(url);
        BaseAddress = baseAddress;
        // h2c: HTTP/2 with prior knowledge, never a fallback to HTTP/1.1.
        (_version, _versionPolicy) = http2
            ? (HttpVersion.Version20, HttpVersionPolicy.RequestVersionExact)
            : (HttpVersion.Version11, HttpVersionPolicy.RequestVersionOrLower);
        _invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            // Like DockerCoins' connection per request, short-lived connections spread the calls over
            // every replica behind one DNS name or Kubernetes Service when rng or hasher is scaled.
            PooledConnectionLifetime = TimeSpan.FromSeconds(1),
            ConnectTimeout = TimeSpan.FromSeconds(2),
            // Over h2c, one connection per 100 loops (Kestrel's stream limit), not a queue behind one.
            EnableMultipleHttp2Connections = true,
            // The client metrics from the service's meter factory, as the client factory set it up before.
            MeterFactory = meters,
        }, disposeHandler: true);
        Pipeline = PeerResilience.Build(name, options, logs);
    }

    public Uri BaseAddress { get; }

    public ResiliencePipeline<HttpResponseMessage> Pipeline { get; }

    /// <summary>One attempt: a new request each time, so that a retry never resends a used message.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, HttpContent? content, CancellationToken cancellationToken) =>
        _invoker.SendAsync(new HttpRequestMessage(method, uri) { Version = _version, VersionPolicy = _versionPolicy, Content = content }, cancellationToken);

    /// <summary>
    /// Reads a small answer whole into <paramref name="buffer"/> and returns its length; a longer one is read to its end
    /// and counted, not kept (the caller refuses it). A cut connection fails as HttpClient's buffering failed it.
    /// </summary>
    public static async ValueTask<long> ReadBodyAsync(HttpContent content, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = content.ReadAsStream(cancellationToken);
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer[length..], cancellationToken)) > 0)
            {
                length += read;
            }

            if (length < buffer.Length)
            {
                return length;
            }

            long total = length;
            var rest = ArrayPool<byte>.Shared.Rent(4096);
            try
            {
                while ((read = await stream.ReadAsync(rest, cancellationToken)) > 0)
                {
                    total += read;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rest);
            }

            return total;
        }
        catch (IOException ex)
        {
            throw new HttpRequestException(HttpRequestError.ResponseEnded, "Error while copying content to a stream.", ex);
        }
    }

    public void Dispose() => _invoker.Dispose();
}
