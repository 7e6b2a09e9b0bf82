namespace RamCoin.StoreContract;

public static class StoreServices
{
    /// <summary>A store client that connects in the background: services start and answer while the store is down.</summary>
    public static IServiceCollection AddStoreClient(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<StoreClientOptions, StoreClientOptionsValidator>(
            configuration,
            (c, o) =>
            {
                c.Bind(o);
                StoreAddress.Apply(o);
            });
        services.AddSingleton<StoreClient>();
        return services;
    }
}
