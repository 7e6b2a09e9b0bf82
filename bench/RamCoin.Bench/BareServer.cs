using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RamCoin.Bench;

/// <summary>
/// The reference: a bare ASP.NET Core endpoint pair with nothing else (no middleware, metrics or logging), the
/// ceiling any rng or hasher built on Kestrel can reach on this machine. L = 1 / (1/GET rate + 1/POST rate) over
/// HTTP/1.1 (wrk), L₂ the same over HTTP/2 (h2load, on the second port: h2c, prior knowledge, as the fast
/// profile's worker calls rng and hasher).
/// </summary>
public static class BareServer
{
    public static async Task RunAsync(int port, int? h2cPort, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // Kestrel's defaults on both ports; only the protocol of the second differs (it cannot tell h2c from
        // HTTP/1.1 on one cleartext port).
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port);
            if (h2cPort is int h2)
            {
                kestrel.Listen(IPAddress.Loopback, h2, o => o.Protocols = HttpProtocols.Http2);
            }
        });
        var app = builder.Build();
        app.MapGet("/{count:int}", (int count) => TypedResults.Bytes(RandomNumberGenerator.GetBytes(count), "application/octet-stream"));
        app.MapPost("/", async (HttpRequest request) =>
        {
            var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            return TypedResults.Text(Convert.ToHexStringLower(SHA256.HashData(body.GetBuffer().AsSpan(0, (int)body.Length))), "text/plain");
        });
        await app.StartAsync(cancellationToken);
        await app.WaitForShutdownAsync(cancellationToken);
    }
}
