using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RamCoin.Tests.Infrastructure;

/// <summary>
/// What <c>kubectl proxy</c> does to the web UI: one origin for the API server, the service under a path prefix,
/// headers and bodies passed through unchanged (the event stream as it is written).
/// </summary>
public sealed class PathPrefixProxy : IAsyncDisposable
{
    public const string Prefix = "/api/v1/namespaces/ramcoin/services/webui/proxy";

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Host", "Proxy-Connection", "TE", "Trailer",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _http;

    private PathPrefixProxy(WebApplication app, HttpClient http)
    {
        _app = app;
        _http = http;
    }

    /// <summary>The dashboard's address through the proxy, with the trailing slash its relative URLs need.</summary>
    public Uri Address => new(_app.Urls.First() + Prefix + "/");

    public static async Task<PathPrefixProxy> StartAsync(Uri target)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };
        app.Map(Prefix + "/{**rest}", async (HttpContext context, string? rest) =>
        {
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(target, rest + context.Request.QueryString));
            if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
            {
                request.Content = new StreamContent(context.Request.Body);
            }

            foreach (var (name, values) in context.Request.Headers.Where(h => !HopByHop.Contains(h.Key)))
            {
                if (!request.Headers.TryAddWithoutValidation(name, [.. values]))
                {
                    request.Content?.Headers.TryAddWithoutValidation(name, [.. values]);
                }
            }

            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers).Where(h => !HopByHop.Contains(h.Key)))
            {
                context.Response.Headers[name] = values.ToArray();
            }

            await using var body = await response.Content.ReadAsStreamAsync(context.RequestAborted);
            var buffer = new byte[16 * 1024];
            int read;
            try
            {
                while ((read = await body.ReadAsync(buffer, context.RequestAborted)) > 0)
                {
                    await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                }
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                // The browser went away (an event stream ends this way).
            }
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new PathPrefixProxy(app, http);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _http.Dispose();
    }
}
