using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RamCoin.ServiceDefaults;

namespace RamCoin.Store;

public static class StoreHost
{
    /// <summary>The store is not an HTTP service: a plain host whose only part is the embedded Garnet server.</summary>
    public static HostApplicationBuilder CreateBuilder(ServiceHostSettings settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [.. settings.Args],
            ApplicationName = "RamCoin." + settings.Service,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(settings.Overrides);
        ServiceHost.ConfigureLogging(builder.Logging);
        builder.Services.AddSingleton(settings);
        return builder;
    }

    public static HostApplicationBuilder AddEmbeddedStore(this HostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddValidatedOptions<EmbeddedStoreOptions, EmbeddedStoreOptionsValidator>((_, _) => { }, o => configuration.Bind(o));
        builder.Services.AddHostedService<EmbeddedStore>();
        return builder;
    }
}
