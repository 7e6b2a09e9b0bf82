namespace RamCoin.Store;

/// <summary>The store's parts, as its own program and the launcher add them: it is not an HTTP service, only a Garnet.</summary>
public static class StoreHost
{
    /// <summary>The services' console logging; Garnet's warnings and errors, and ours at Information.</summary>
    public static HostApplicationBuilder AddStoreDefaults(this HostApplicationBuilder builder)
    {
        ServiceHost.ConfigureLogging(builder.Logging, builder.Configuration);
        // Garnet explains its whole configuration at Information; keep its warnings and errors.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Ours at Information: a compaction of the append-only file is worth a line.
        builder.Logging.AddFilter(typeof(EmbeddedStore).FullName, LogLevel.Information);
        return builder;
    }

    /// <summary>
    /// The embedded Garnet, with its options bound from configuration and checked at start: a bad setting stops the
    /// start with an <see cref="OptionsValidationException"/> (or the binder's error) that names its variable.
    /// </summary>
    public static HostApplicationBuilder AddEmbeddedStore(this HostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IValidateOptions<EmbeddedStoreOptions>, EmbeddedStoreOptionsValidator>();
        builder.Services.AddOptions<EmbeddedStoreOptions>().Bind(builder.Configuration).ValidateOnStart();
        builder.Services.AddHostedService<EmbeddedStore>();
        return builder;
    }
}
