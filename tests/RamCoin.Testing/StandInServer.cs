using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RamCoin.Tests.Infrastructure;

/// <summary>
/// A stand-in HTTP server on a loopback port for a test to talk to (a peer, a web UI, an OTLP receiver): plain Kestrel,
/// without the services' middleware or logging, answering what the test maps.
/// </summary>
public sealed class StandInServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StandInServer(WebApplication app)
    {
        _app = app;
        Address = new Uri(app.Urls.First());
    }

    public Uri Address { get; }

    public static async Task<StandInServer> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        map(app);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new StandInServer(app);
    }

    /// <summary>Every request answered by <paramref name="answer"/>.</summary>
    public static Task<StandInServer> StartAsync(RequestDelegate answer) =>
        StartAsync(app => RunExtensions.Run(app, answer));

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
