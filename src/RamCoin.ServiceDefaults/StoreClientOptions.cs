using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace RamCoin.ServiceDefaults;

/// <summary>The store a worker or webui talks to: Garnet, Redis or Valkey, anything that speaks RESP.</summary>
public sealed class StoreClientOptions
{
    /// <summary>Host name or address; may carry a port (<c>redis:6380</c>), which then wins over REDIS_PORT.</summary>
    [ConfigurationKeyName("REDIS_HOST")]
    [Required(ErrorMessage = "REDIS_HOST must not be empty.")]
    public string Host { get; set; } = PeerAddresses.Container.StoreHost;

    [ConfigurationKeyName("REDIS_PORT")]
    [Range(1, 65535, ErrorMessage = "REDIS_PORT must be from {1} to {2}.")]
    public int Port { get; set; } = PeerAddresses.Container.StorePort;

    [ConfigurationKeyName("REDIS_PASSWORD")]
    public string? Password { get; set; }

    /// <summary>How long one store command may take before it counts as failed.</summary>
    [ConfigurationKeyName("REDIS_TIMEOUT_MS")]
    [Range(100, 60_000, ErrorMessage = "REDIS_TIMEOUT_MS must be from {1} to {2}.")]
    public int TimeoutMs { get; set; } = 2000;
}

[OptionsValidator]
public sealed partial class StoreClientOptionsValidator : IValidateOptions<StoreClientOptions>;
