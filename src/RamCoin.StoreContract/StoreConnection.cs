namespace RamCoin.StoreContract;

public static class StoreConnection
{
    public static ConfigurationOptions Configure(StoreClientOptions options, string clientName)
    {
        var config = new ConfigurationOptions
        {
            // Start and keep answering while the store is down; reconnect in the background.
            AbortOnConnectFail = false,
            ConnectTimeout = options.TimeoutMs,
            SyncTimeout = options.TimeoutMs,
            AsyncTimeout = options.TimeoutMs,
            ConnectRetry = 1,
            // Reconnect attempts happen on the heartbeat: a short one finds a returning store within a
            // quarter second instead of the default one to two seconds.
            HeartbeatInterval = TimeSpan.FromMilliseconds(250),
            ReconnectRetryPolicy = new LinearRetry(250),
            ClientName = clientName,
            // Trimmed as the store trims it (a Secret file's newline is no part of it); blank is none.
            Password = string.IsNullOrWhiteSpace(options.Password) ? null : options.Password.Trim(),
        };
        // Split and checked with the other options (StoreAddress): nothing is parsed again at connect time.
        config.EndPoints.Add(options.HostName, options.Port);

        return config;
    }
}
