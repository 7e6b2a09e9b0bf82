using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace RamCoin.Tests.Infrastructure;

/// <summary>One real service on a loopback port, built exactly as the launcher builds it.</summary>
public sealed class RunningService : IAsyncDisposable
{
    private RunningService(IHost host, Uri address, CapturedLog log)
    {
        Host = host;
        Address = address;
        Log = log;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public IHost Host { get; }

    public Uri Address { get; }

    public HttpClient Client { get; }

    /// <summary>The service's last log lines (Information and above), to show with a failed assertion.</summary>
    public CapturedLog Log { get; }

    public T Get<T>()
        where T : notnull => Host.Services.GetRequiredService<T>();

    public static async Task<RunningService> StartAsync(
        string service,
        Dictionary<string, string?>? settings = null,
        Profile profile = Profile.Classic,
        PeerAddresses? peers = null,
        int port = 0)
    {
        var log = new CapturedLog();
        var host = Targets.Build(new ServiceConfiguration
        {
            Service = service,
            Defaults = (peers ?? PeerAddresses.Container).ToConfiguration(),
            Variables = settings ?? new Dictionary<string, string?>(),
            Settings = new Dictionary<string, string?>
            {
                [HostingOptions.ProfileSetting] = Profiles.Name(profile),
                [HostingOptions.InlineSetting] = "false",
                ["urls"] = $"http://127.0.0.1:{port}",
            },
            ConfigureServices = services => services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(log),
        });
        await host.StartAsync(TestContext.Current.CancellationToken);
        return new RunningService(host, ((WebApplication)host).ListeningAddress(), log);
    }

    private bool _disposed;

    /// <summary>Stops the service (idempotent: a test may stop it early to check what it flushed).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Client.Dispose();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Host.StopAsync(timeout.Token);
        Host.Dispose();
    }
}
