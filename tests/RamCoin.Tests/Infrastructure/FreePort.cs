using System.Net;
using System.Net.Sockets;

namespace RamCoin.Tests.Infrastructure;

public static class FreePort
{
    /// <summary>A loopback port nobody listens on right now (for servers that cannot be told to take port 0).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
