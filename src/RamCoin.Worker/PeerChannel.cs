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
/// Hand-built because the framework's way misses the fast profile's goal (at least 1.5 L, all in one process): typed
/// clients of the client factory with <c>AddResilienceHandler</c> and a handler reading the answer inside each try
/// (branch <c>h3-framework</c>) spent 94.6 µs of CPU per hash against 70.7 here and mined 0.69× the hashes/s
/// (ramcoin-bench <c>--layouts all</c>, both back to back, 2026-12-07). HttpClient, the handler chain and the
/// resilience DelegatingHandler each add a layer of async state and allocations per call. The connection pool, its
/// settings and the HTTP client metrics (<c>http.client.request.duration</c>) are SocketsHttpHandler's.
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
            // Each call stands alone, as DockerCoins' were: no cookie jar to fill from answers and search per request.
            UseCookies = false,
            // The client metrics from the service's meter factory, as the client factory set it up before.
            MeterFactory = meters,
        }, disposeHandler: true);
        Pipeline = PeerResilience.Build(name, options, logs);
    }

    public Uri BaseAddress { get; }

    public ResiliencePipeline<HttpResponseMessage> Pipeline { get; }

    /// <summary>
    /// One call through the pipeline, timed by <paramref name="telemetry"/>: the request made by <paramref name="content"/>
    /// (null: no body) and, on success, its answer (at most <paramref name="maxAnswerBytes"/> kept) turned into the
    /// result by <paramref name="read"/>, which throws to refuse it.
    /// </summary>
    public async Task<TResult> CallAsync<TState, TResult>(
        PeerTelemetry telemetry, HttpMethod method, Uri uri, Func<TState, HttpContent>? content, int maxAnswerBytes, TState state,
        AnswerReader<TState, TResult> read, CancellationToken cancellationToken)
    {
        var started = telemetry.Begin();
        HttpResponseMessage? answered = null;
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            // Outcomes, not exceptions, through the pipeline: two async layers fewer per call than ExecuteAsync.
            var outcome = await Pipeline.ExecuteOutcomeAsync(
                static (context, attempt) => attempt.Peer.AttemptAsync(attempt, context), context,
                new Attempt<TState, TResult>(this, method, uri, content, maxAnswerBytes, state, read));
            outcome.ThrowIfException();
            using var response = outcome.Result!;
            response.EnsureSuccessStatusCode();
            answered = response;
            return context.Properties.GetValue(Answer<TResult>(), default!);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
            telemetry.End(started, answered);
        }
    }

    /// <summary>Where a try leaves its result for the call (no allocation: the context is pooled).</summary>
    private static ResiliencePropertyKey<TResult> Answer<TResult>() => new("ramcoin.answer");

    /// <summary>One try, its answer read inside it: the per-try timeout covers the body too, and a retry starts afresh.</summary>
    private async ValueTask<Outcome<HttpResponseMessage>> AttemptAsync<TState, TResult>(Attempt<TState, TResult> attempt, ResilienceContext context)
    {
        HttpResponseMessage? response = null;
        try
        {
            // A new request each time, so that a retry never resends a used message.
            var request = new HttpRequestMessage(attempt.Method, attempt.Uri)
            {
                Version = _version,
                VersionPolicy = _versionPolicy,
                Content = attempt.Content?.Invoke(attempt.State),
            };
            response = await _invoker.SendAsync(request, context.CancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                // The pipeline decides: retried, counted by the circuit breaker, or thrown by the caller.
                return Outcome.FromResult(response);
            }

            // One byte more than kept tells an answer that fits from a longer one.
            var buffer = ArrayPool<byte>.Shared.Rent(attempt.MaxAnswerBytes + 1);
            try
            {
                var length = await ReadBodyAsync(response.Content, buffer.AsMemory(0, attempt.MaxAnswerBytes + 1), context.CancellationToken);
                var answer = buffer.AsSpan(0, (int)Math.Min(length, attempt.MaxAnswerBytes + 1));
                context.Properties.Set(Answer<TResult>(), attempt.Read(answer, length, attempt.State));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            return Outcome.FromResult(response);
        }
        catch (Exception ex)
        {
            response?.Dispose();
            return Outcome.FromException<HttpResponseMessage>(ex);
        }
    }

    /// <summary>
    /// Reads a small answer whole into <paramref name="buffer"/> and returns its length; a longer one is read to its end
    /// and counted, not kept (the caller refuses it). A cut connection fails as HttpClient's buffering failed it.
    /// </summary>
    private static async ValueTask<long> ReadBodyAsync(HttpContent content, Memory<byte> buffer, CancellationToken cancellationToken)
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

    private readonly record struct Attempt<TState, TResult>(
        PeerChannel Peer, HttpMethod Method, Uri Uri, Func<TState, HttpContent>? Content, int MaxAnswerBytes, TState State, AnswerReader<TState, TResult> Read);
}

/// <summary>
/// Turns a successful answer into a call's result, or throws to refuse it: <paramref name="answer"/> holds its first
/// bytes (one more than the call keeps, when it is longer), <paramref name="length"/> its whole length.
/// </summary>
public delegate TResult AnswerReader<in TState, out TResult>(ReadOnlySpan<byte> answer, long length, TState state);
