using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RamCoin.Bench;

/// <summary>
/// The reference: a bare ASP.NET Core endpoint pair with nothing else (no middleware, metrics or logging), the
/// ceiling any rng or hasher built on Kestrel can reach on this machine. L = 1 / (1/GET rate + 1/POST rate).
/// </summary>
public static class BareServer
{
    public static async Task RunAsync(int port, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
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
