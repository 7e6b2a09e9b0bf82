using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace RamCoin.Hosting;

/// <summary>
/// Open connections capped per service, every port together (<c>RAMCOIN_MAX_CONNECTIONS</c>; the web UI adds its
/// streams): a connection past the cap is answered <c>503</c> with a problem body and closed at once, so a client is
/// told the service is busy and the process keeps its memory and file descriptors.
/// </summary>
/// <remarks>
/// A connection middleware of our own because Kestrel's <c>MaxConcurrentConnections</c> only closes a connection past
/// its limit, before any middleware runs: the client sees a reset, not a busy service. That limit is left unset.
/// </remarks>
public sealed class ConnectionCap(int max)
{
    private int _open;

    /// <summary>How many connections the service keeps open at once.</summary>
    public int Max { get; } = max;

    /// <summary>
    /// Puts the cap in front of a listener's connections (first, before any other connection middleware). Kestrel keeps
    /// only one set of endpoint defaults: a service that sets its own calls this first in them.
    /// </summary>
    public static IConnectionBuilder Use(ListenOptions listen) => listen.Use(next =>
    {
        var cap = listen.ApplicationServices.GetRequiredService<ConnectionCap>();
        return connection => cap.OnConnectionAsync(connection, next, http1: listen.Protocols != HttpProtocols.Http2);
    });

    private async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next, bool http1)
    {
        if (Interlocked.Increment(ref _open) > Max)
        {
            Interlocked.Decrement(ref _open);
            // An h2c port's client expects HTTP/2 frames, not an HTTP/1.1 answer: it is only closed.
            if (http1)
            {
                await RefuseAsync(connection);
            }

            return;
        }

        try
        {
            await next(connection);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }

    /// <summary>The whole answer at once, without reading the request: Kestrel then closes the connection.</summary>
    private async Task RefuseAsync(ConnectionContext connection)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new Microsoft.AspNetCore.Mvc.ProblemDetails
        {
            Type = "https://tools.ietf.org/html/rfc9110#section-15.6.4",
            Title = "Too many connections",
            Status = StatusCodes.Status503ServiceUnavailable,
            Detail = $"This service keeps at most {Max} connections open (RAMCOIN_MAX_CONNECTIONS); try again later.",
        }, ServiceDefaultsJsonContext.Default.ProblemDetails);
        byte[] head = Encoding.ASCII.GetBytes(
            "HTTP/1.1 503 Service Unavailable\r\n"
            + "Content-Type: application/problem+json\r\n"
            + $"Content-Length: {body.Length}\r\n"
            + $"Date: {DateTime.UtcNow.ToString("r", CultureInfo.InvariantCulture)}\r\n"
            + "Retry-After: 1\r\n"
            + "Connection: close\r\n"
            + "\r\n");
        try
        {
            await connection.Transport.Output.WriteAsync((byte[])[.. head, .. body]);
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or OperationCanceledException)
        {
            // The client left first.
        }
    }
}
