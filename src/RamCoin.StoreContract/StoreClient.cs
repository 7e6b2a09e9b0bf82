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

    /// <summary>
    /// True while a connection is up or the first one is still to be made: a service stopped within its first second
    /// has not tried its store yet, and that is no reason to give up its work.
    /// </summary>
    public bool MayBeReachable => !_connection.IsValueCreated || !_connection.Value.IsCompleted || IsConnected;

    public async Task<IDatabase> GetDatabaseAsync() => (await _connection.Value).GetDatabase();

    /// <summary>
    /// Fails a store call with a <see cref="TimeoutException"/> once it outlives twice the command timeout. The client
    /// times its commands out itself, but a transaction caught in a connection blip can stay pending for good
    /// (StackExchange.Redis#2742; here when the store replaced its Garnet mid-transaction), and a worker that waited for
    /// it would never flush again.
    /// </summary>
    public Task<T> WithinDeadline<T>(Task<T> call) => call.WaitAsync(TimeSpan.FromMilliseconds(2 * options.Value.TimeoutMs));

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
