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
        ServiceHost.ConfigureLogging(builder.Logging, builder.Configuration);
        // Garnet explains its whole configuration at Information; keep its warnings and errors.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Ours at Information: a compaction of the append-only file is worth a line.
        builder.Logging.AddFilter(typeof(EmbeddedStore).FullName, LogLevel.Information);
        builder.Services.AddSingleton(settings);
        return builder;
    }

    /// <param name="options">The launcher's typed options; null reads them from configuration (a store hosted without it).</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">A bad setting, named by its variable.</exception>
    public static HostApplicationBuilder AddEmbeddedStore(this HostApplicationBuilder builder, EmbeddedStoreOptions? options = null)
    {
        var store = options ?? EmbeddedStoreOptions.Read(builder.Configuration);
        if (new EmbeddedStoreOptionsValidator().Validate(null, store) is { Failed: true } invalid)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(nameof(EmbeddedStoreOptions), typeof(EmbeddedStoreOptions), invalid.Failures);
        }

        builder.Services.AddSingleton(store);
        builder.Services.AddHostedService<EmbeddedStore>();
        return builder;
    }
}
