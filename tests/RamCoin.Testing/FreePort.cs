using System.Net.Sockets;

namespace RamCoin.Tests.Infrastructure;

public static class FreePort
{
    // Below Linux's ephemeral range (32768 and up), where port-0 binds (Kestrel in other tests) never land,
    // so a port handed out here is not taken by a parallel test between now and its use.
    private const int First = 20_000;
    private const int Count = 10_000;
    private static int _next = Random.Shared.Next(Count);

    /// <summary>A loopback port nobody listens on right now (for servers that cannot be told to take port 0).</summary>
    public static int Next()
    {
        for (var attempt = 0; attempt < Count; attempt++)
        {
            var port = First + (Interlocked.Increment(ref _next) % Count);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try the next one.
            }
        }

        throw new InvalidOperationException("no free loopback port from 20000 to 29999");
    }
}
