using System.Buffers;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;

namespace RamCoin.WebUI;

/// <summary>
/// A classroom's live streams served at the connection: a well-formed HTTP/1.x <c>GET /events</c> is answered here,
/// before Kestrel's HTTP layer, and the connection then holds only its socket, its two pipes and the broadcaster's
/// viewer, where through the HTTP layer it would also keep a request, its headers, an HTTP context and the
/// middleware's state for its whole life. The answer is the endpoint's own, byte for byte
/// but for its framing: the body ends with the connection (<c>Connection: close</c>) instead of chunked. Anything
/// else (other paths, HEAD, HTTP/2, a malformed or oversized head, a request with a body, a full web UI) is left
/// unread for Kestrel, whose <c>/events</c> endpoint answers the same way, its 503 problem included.
/// </summary>
/// <remarks>
/// Kept because the framework's <c>TypedResults.ServerSentEvents</c> misses the 10,000-viewer memory goal (150 MB):
/// it added 292 MiB against 87 MiB here (docs/performance.md).
/// </remarks>
public static class EventStreamConnections
{
    /// <summary>The longest request head answered here; a longer one goes to Kestrel, whose limits answer it.</summary>
    private const int MaxHead = 8 * 1024;

    private static readonly byte[] Target = "GET /events"u8.ToArray();
    private static readonly byte[] EndOfHead = "\r\n\r\n"u8.ToArray();

    public static WebApplicationBuilder AddEventStreamConnections(this WebApplicationBuilder builder)
    {
        // These defaults replace the service's (Kestrel keeps one set): the connection cap goes first again.
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen =>
            ConnectionCap.Use(listen).Use(next => connection => HandleAsync(connection, next, listen.ApplicationServices))));
        return builder;
    }

    private static async Task HandleAsync(ConnectionContext connection, ConnectionDelegate next, IServiceProvider services)
    {
        var input = connection.Transport.Input;
        var broadcaster = services.GetRequiredService<DashboardBroadcaster>();
        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        // The server's stop asks each connection to close: one that has sent nothing yet (a browser's spare) ends
        // then, as Kestrel's own idle connections do, instead of holding the stop to its timeout.
        var closing = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? default;
        using var gone = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, closing);
        // Kestrel's header timeout, which does not reach this far: a connection without a whole head by then
        // (idle, a head that never ends, bare LF line ends) is closed, as Kestrel closes its own.
        using var headTimeout = CancellationTokenSource.CreateLinkedTokenSource(gone.Token);
        headTimeout.CancelAfter(RequestLimits.RequestHeadersTimeout);
        bool ours;
        try
        {
            while (true)
            {
                var read = await input.ReadAsync(headTimeout.Token);
                var buffer = read.Buffer;
                var head = HeadLength(buffer, read.IsCompleted);
                if (head == NeedMore)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                // Ours: the head is consumed. Not ours, or a full web UI: nothing is, and Kestrel reads the same bytes
                // (its endpoint answers the 503 problem, with Retry-After).
                ours = head > 0 && socket is not null && broadcaster.TryEnter(services.GetRequiredService<IOptions<WebUIOptions>>().Value.MaxStreams);
                input.AdvanceTo(ours ? buffer.GetPosition(head) : buffer.Start);
                break;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ConnectionResetException or IOException)
        {
            // The client left before its request was whole, or took longer than the header timeout.
            return;
        }

        if (!ours || socket is null)
        {
            await next(connection);
            return;
        }

        try
        {
            // Straight to the socket, head and frames: Kestrel's output pipe stays empty, so its sender never runs.
            await socket.SendAsync(ResponseHead(services.GetRequiredService<ServiceIdentity>()), SocketFlags.None, gone.Token);
            await broadcaster.StreamAsync(socket, gone.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The viewer went away before its head was sent.
        }
        finally
        {
            broadcaster.Leave();
        }
    }

    private const int NeedMore = 0;
    private const int NotOurs = -1;

    /// <summary>
    /// The length of a complete, well-formed <c>GET /events[?query] HTTP/1.x</c> head with a Host and no body;
    /// <see cref="NotOurs"/> for anything else; <see cref="NeedMore"/> while the bytes so far may still become one.
    /// </summary>
    internal static int HeadLength(ReadOnlySequence<byte> buffer, bool completed)
    {
        var length = (int)Math.Min(buffer.Length, MaxHead);
        var rented = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            var bytes = rented.AsSpan(0, length);
            buffer.Slice(0, length).CopyTo(bytes);
            var prefix = Math.Min(length, Target.Length);
            if (!bytes[..prefix].SequenceEqual(Target.AsSpan(0, prefix)))
            {
                return NotOurs;
            }

            if (length > Target.Length && bytes[Target.Length] is not ((byte)' ' or (byte)'?'))
            {
                return NotOurs;
            }

            var end = bytes.IndexOf(EndOfHead);
            if (end < 0)
            {
                return completed || buffer.Length >= MaxHead ? NotOurs : NeedMore;
            }

            return IsWellFormed(bytes[..end]) ? end + EndOfHead.Length : NotOurs;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The request line and header lines (without the blank line): strictly what this answer may skip Kestrel for.</summary>
    private static bool IsWellFormed(ReadOnlySpan<byte> head)
    {
        var lineEnd = head.IndexOf("\r\n"u8);
        var line = lineEnd < 0 ? head : head[..lineEnd];
        var target = line[4..];
        var space = target.IndexOf((byte)' ');
        if (space < 0 || !target[..space].ToArray().All(b => b is > 32 and < 127)
            || !(target[(space + 1)..].SequenceEqual("HTTP/1.1"u8) || target[(space + 1)..].SequenceEqual("HTTP/1.0"u8)))
        {
            return false;
        }

        var host = false;
        var rest = lineEnd < 0 ? [] : head[(lineEnd + 2)..];
        while (!rest.IsEmpty)
        {
            var next = rest.IndexOf("\r\n"u8);
            var header = next < 0 ? rest : rest[..next];
            rest = next < 0 ? [] : rest[(next + 2)..];
            var colon = header.IndexOf((byte)':');
            // No name, a space before the colon, a folded line, a control or non-ASCII byte: Kestrel answers 400.
            if (colon <= 0 || header[..colon].IndexOfAny((byte)' ', (byte)'\t') >= 0 || header.ContainsAnyInRange((byte)0, (byte)8)
                || header.ContainsAnyInRange((byte)10, (byte)31) || header.ContainsAnyInRange((byte)127, (byte)255))
            {
                return false;
            }

            var name = Encoding.ASCII.GetString(header[..colon]);
            var value = Encoding.ASCII.GetString(header[(colon + 1)..]).Trim(' ', '\t');
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                host = true;
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                || (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && value != "0"))
            {
                return false;
            }
        }

        return host;
    }

    /// <summary>What Kestrel's endpoint sends before the first event (the security headers of every answer included).</summary>
    private static byte[] ResponseHead(ServiceIdentity identity) => Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\n"
        + "Content-Type: text/event-stream\r\n"
        + $"Date: {DateTime.UtcNow.ToString("r", CultureInfo.InvariantCulture)}\r\n"
        + "Cache-Control: no-cache\r\n"
        + "Connection: close\r\n"
        + $"{ServiceIdentity.InstanceHeader}: {identity.HostName}\r\n"
        + $"{ServiceIdentity.VersionHeader}: {identity.Version}\r\n"
        + "X-Content-Type-Options: nosniff\r\n"
        + $"Content-Security-Policy: {DashboardSecurityHeaders.Default}\r\n"
        + "\r\n");
}
