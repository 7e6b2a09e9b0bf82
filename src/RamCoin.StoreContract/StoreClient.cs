namespace RamCoin.StoreContract;

/// <summary>
/// The one store connection of a service, opened on first use so that a service starts (and answers
/// its health checks) while the store is down; it reconnects in the background afterwards.
/// </summary>
public sealed class StoreClient(IOptions<StoreClientOptions> options, ServiceIdentity identity) : IAsyncDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection = new(() =>
        ConnectionMultiplexer.ConnectAsync(
            StoreConnection.Configure(options.Value, identity.Service + "@" + identity.HostName)));

    /// <summary>True while a connection to the store is up.</summary>
    public bool IsConnected => _connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully && _connection.Value.Result.IsConnected;

    public async Task<IDatabase> GetDatabaseAsync() => (await _connection.Value).GetDatabase();

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            try
            {
                await (await _connection.Value).DisposeAsync();
            }
            catch (RedisException)
            {
                // Never connected: nothing to close.
            }
        }
    }
}
