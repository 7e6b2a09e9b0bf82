using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace RamCoin.ServiceDefaults;

/// <summary>The store a worker or webui talks to: Garnet, Redis or Valkey, anything that speaks RESP.</summary>
public sealed class StoreClientOptions
{
    /// <summary>Host name or address; may carry a port (<c>redis:6380</c>), which then wins over REDIS_PORT.</summary>
    [ConfigurationKeyName("REDIS_HOST")]
    public string Host { get; set; } = PeerAddresses.Container.StoreHost;

    [ConfigurationKeyName("REDIS_PORT")]
    public int Port { get; set; } = PeerAddresses.Container.StorePort;

    [ConfigurationKeyName("REDIS_PASSWORD")]
    public string? Password { get; set; }

    /// <summary>How long one store command may take before it counts as failed.</summary>
    [ConfigurationKeyName("REDIS_TIMEOUT_MS")]
    public int TimeoutMs { get; set; } = 2000;
}

public sealed class StoreClientOptionsValidator : IValidateOptions<StoreClientOptions>
{
    public ValidateOptionsResult Validate(string? name, StoreClientOptions options) => new OptionChecks()
        .NotEmpty("REDIS_HOST", options.Host)
        .Range("REDIS_PORT", options.Port, 1, 65535)
        .Range("REDIS_TIMEOUT_MS", options.TimeoutMs, 100, 60_000)
        .Result;
}
