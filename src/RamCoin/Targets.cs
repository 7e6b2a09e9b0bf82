using RamCoin.Hasher;
using RamCoin.Rng;
using RamCoin.Store;
using RamCoin.WebUI;
using RamCoin.Worker;

namespace RamCoin;

/// <summary>The one place that says what each target is made of (Loki's module list).</summary>
public static class Targets
{
    /// <param name="store">The embedded store's options, typed by the launcher; null reads them from configuration.</param>
    public static IHost Build(string target, ServiceHostSettings settings, EmbeddedStoreOptions? store = null) => target switch
    {
        ServiceNames.Store => BuildStore(settings, store),
        ServiceNames.Rng => BuildWeb(settings, b => b.AddRng(), a => a.MapRngApi()),
        ServiceNames.Hasher => BuildWeb(settings, b => b.AddHasher(), a => a.MapHasherApi()),
        ServiceNames.WebUI => BuildWeb(settings, b => b.AddWebUI(), a => a.MapWebUIApi()),
        ServiceNames.Worker => BuildWeb(settings, b => b.AddWorker(), a => a.MapWorkerApi()),
        _ => throw new ArgumentOutOfRangeException(nameof(target), target, "unknown target"),
    };

    private static WebApplication BuildWeb(ServiceHostSettings settings, Action<WebApplicationBuilder> add, Action<WebApplication> map)
    {
        var builder = ServiceHost.CreateBuilder(settings);
        add(builder);
        builder.Services.AddSingleton<IHostLifetime, LauncherLifetime>();
        var app = builder.Build();
        app.MapServiceDefaults();
        map(app);
        return app;
    }

    private static IHost BuildStore(ServiceHostSettings settings, EmbeddedStoreOptions? store)
    {
        var builder = StoreHost.CreateBuilder(settings).AddEmbeddedStore(store);
        builder.Services.AddSingleton<IHostLifetime, LauncherLifetime>();
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
