using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace RamCoin.Hosting;

/// <summary>
/// Limits that keep a service answering whatever it is sent: long URLs and big headers get a 414 or 431
/// problem from our middleware, well before Kestrel's own (higher) limits would cut the connection
/// without a body; slow requests end with a 408 problem; slow bodies are cut by Kestrel's minimum data rate.
/// </summary>
public static class RequestLimits
{
    /// <summary>Path and query, in characters. DockerCoins' URLs are a few characters long.</summary>
    public const int MaxUrlLength = 4096;

    /// <summary>All request headers together, in bytes (names and values).</summary>
    public const int MaxHeaderBytes = 16 * 1024;

    /// <summary>The most a service reads of a body it refuses; bigger bodies end the connection.</summary>
    public const int MaxDrainedBodyBytes = 16 * 1024 * 1024;

    /// <summary>How long a connection may take to send a whole request head.</summary>
    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Unsent answer bytes a connection may hold in the process.</summary>
    public const int MaxResponseBufferBytes = 64 * 1024;

    /// <summary>Kestrel's own limits: beyond these it refuses the request itself, before any middleware runs.</summary>
    private const int KestrelHeaderBytes = 64 * 1024;
    private const int KestrelRequestLine = 16 * 1024;

    public static void AddRequestLimits(this WebApplicationBuilder builder, HostingOptions hosting)
    {
        var timeoutMs = hosting.RequestTimeoutMs;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestHeadersTotalSize = KestrelHeaderBytes;
            k.Limits.MaxRequestLineSize = KestrelRequestLine;
            // A connection that has not sent a whole request head by then is closed (on every port: the web UI's
            // connection middleware keeps the same timeout), and open connections are capped (ConnectionCap, a 503 past
            // it): neither memory nor file descriptors run out however many connections a client opens and leaves idle.
            k.Limits.RequestHeadersTimeout = RequestHeadersTimeout;
            // Kestrel times a connection's first head from its first byte; before that, and between requests, this
            // applies: the same, so that a connection that sends nothing is closed as soon as a slow head is.
            k.Limits.KeepAliveTimeout = RequestHeadersTimeout;
            // Not Kestrel's MaxConcurrentConnections, which closes a connection past it without an answer.
            k.ConfigureEndpointDefaults(listen => ConnectionCap.Use(listen));
            // Nothing here upgrades a connection (no WebSockets).
            k.Limits.MaxConcurrentUpgradedConnections = 0;
            // What a client sends ahead of what is read (bytes after a stream's request head, a body not yet read)
            // waits in the kernel beyond this, not in the process. At least the largest head, as Kestrel requires.
            k.Limits.MaxRequestBufferSize = KestrelHeaderBytes;
            // hasher refuses more than 1 MiB itself, with a problem body; it reads (and drops) up to this much
            // so that the client, still sending, gets that answer instead of a reset connection.
            k.Limits.MaxRequestBodySize = MaxDrainedBodyBytes;
            k.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 1024, gracePeriod: TimeSpan.FromSeconds(5));
            // Kestrel's default, said here because answers rely on it: a write waits while this much is unsent,
            // so a client that does not read holds at most this much of an answer (rng streams its large ones).
            k.Limits.MaxResponseBufferSize = MaxResponseBufferBytes;
        });
        // The socket transport reads ahead of Kestrel up to this (by default 1 MiB, so every client that sends what
        // nobody reads would hold that much of the process); what a client sends beyond it waits in the kernel.
        builder.WebHost.UseSockets(o => o.MaxReadBufferSize = KestrelHeaderBytes);
        builder.Services.AddSingleton(new ConnectionCap(hosting.MaxConnections));
        builder.Services.AddRequestTimeouts(o => o.DefaultPolicy = new RequestTimeoutPolicy
        {
            Timeout = TimeSpan.FromMilliseconds(timeoutMs),
            TimeoutStatusCode = StatusCodes.Status408RequestTimeout,
            WriteTimeoutResponse = context => Write(context, StatusCodes.Status408RequestTimeout, "Request timeout",
                $"The request took longer than {timeoutMs} ms (RAMCOIN_REQUEST_TIMEOUT_MS)."),
        });
    }

    public static void UseRequestLimits(this WebApplication app)
    {
        // Not async: a request within the limits goes on with no state machine of its own.
        app.Use((context, next) =>
        {
            var request = context.Request;
            if (request.Path.Value?.Length + request.QueryString.Value?.Length > MaxUrlLength)
            {
                return Write(context, StatusCodes.Status414UriTooLong, "URL too long", $"URLs are limited to {MaxUrlLength} characters.");
            }

            long headerBytes = 0;
            foreach (var header in request.Headers)
            {
                // Indexed, not LINQ: this runs for every request, and StringValues would be boxed.
                headerBytes += header.Key.Length;
                for (var i = 0; i < header.Value.Count; i++)
                {
                    headerBytes += header.Value[i]?.Length ?? 0;
                }
            }

            return headerBytes > MaxHeaderBytes
                ? Write(context, StatusCodes.Status431RequestHeaderFieldsTooLarge, "Headers too large", $"Request headers are limited to {MaxHeaderBytes} bytes.")
                : next(context);
        });
        app.UseRequestTimeouts();
    }

    /// <summary>A small body, read whole; null when it is longer than <paramref name="maxBytes"/> (the rest is left unread).</summary>
    public static async Task<byte[]?> ReadSmallBodyAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        // One byte more than allowed tells a body of exactly maxBytes from a longer one.
        var buffer = new byte[maxBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }

        return length > maxBytes ? null : buffer[..length];
    }

    private static Task Write(HttpContext context, int status, string title, string detail) =>
        ServiceHost.Problem(status, title, detail).ExecuteAsync(context);
}
