using OpenTelemetry.Metrics;
using RamCoin.Hasher;
using RamCoin.Lessons;
using RamCoin.Rng;
using RamCoin.Store;
using RamCoin.WebUI;
using RamCoin.Worker;

namespace RamCoin;

/// <summary>The one place that says what each target is made of (Loki's module list): the parts of its Program.cs.</summary>
public static class Targets
{
    /// <param name="sharedMetrics">The process's meter provider, once a service made one (<see cref="ServiceDefaults.AddServiceDefaults"/>).</param>
    public static IHost Build(ServiceConfiguration configuration, MeterProvider? sharedMetrics = null) =>
        configuration.Service switch
        {
            ServiceNames.Store => BuildStore(configuration),
            ServiceNames.Rng => BuildWeb(configuration, sharedMetrics, b => b.AddRng(), a => a.MapRngApi()),
            ServiceNames.Hasher => BuildWeb(configuration, sharedMetrics, b => b.AddHasher(), a => a.MapHasherApi()),
            ServiceNames.WebUI => BuildWeb(configuration, sharedMetrics, b => b.AddWebUI(), a => a.MapWebUIApi()),
            ServiceNames.Worker => BuildWeb(configuration, sharedMetrics, b => b.AddWorker(), a => a.MapWorkerApi()),
            var unknown => throw new ArgumentOutOfRangeException(nameof(configuration), unknown, "unknown target"),
        };

    /// <summary>What each service's Program.cs does, with the launcher's configuration and lifetime.</summary>
    private static WebApplication BuildWeb(
        ServiceConfiguration configuration, MeterProvider? sharedMetrics, Action<WebApplicationBuilder> add, Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [.. configuration.Args],
            ApplicationName = "RamCoin." + configuration.Service,
            ContentRootPath = AppContext.BaseDirectory,
        });
        configuration.ApplyTo(builder.Configuration);
        add(builder.AddServiceDefaults(configuration.Service, sharedMetrics).AddLessons());
        builder.Services.AddSingleton<IHostLifetime, LauncherLifetime>();
        configuration.ConfigureServices?.Invoke(builder.Services);

        var app = builder.Build();
        map(app.MapDefaultEndpoints().UseLessons());
        return app;
    }

    /// <summary>What the store's Program.cs does, with the launcher's configuration and lifetime.</summary>
    private static IHost BuildStore(ServiceConfiguration configuration)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [.. configuration.Args],
            ApplicationName = "RamCoin." + configuration.Service,
            ContentRootPath = AppContext.BaseDirectory,
        });
        configuration.ApplyTo(builder.Configuration);
        builder.AddStoreDefaults();
        builder.AddEmbeddedStore();
        builder.Services.AddSingleton<IHostLifetime, LauncherLifetime>();
        configuration.ConfigureServices?.Invoke(builder.Services);
        return builder.Build();
    }
}

/// <summary>
/// The launcher, not each host, answers Ctrl-C and SIGTERM, so that services stop in order: the worker
/// flushes to the store before the store stops.
/// </summary>
internal sealed class LauncherLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
