using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RamCoin.Hosting;

namespace RamCoin.Store;

/// <summary>The embedded Garnet store of the local run.</summary>
public sealed class EmbeddedStoreOptions
{
    [ConfigurationKeyName("RAMCOIN_STORE_PORT")]
    public int Port { get; set; } = 6379;

    /// <summary>Address to listen on; loopback by default, so a laptop's store is not open to its network.</summary>
    [ConfigurationKeyName("RAMCOIN_BIND")]
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>Folder for the append-only file and checkpoints; empty means an in-memory store.</summary>
    [ConfigurationKeyName("RAMCOIN_DATA_DIR")]
    public string? DataDir { get; set; }

    /// <summary>When set, clients must AUTH with it (the same variable the clients use).</summary>
    [ConfigurationKeyName("REDIS_PASSWORD")]
    public string? Password { get; set; }
}

public sealed class EmbeddedStoreOptionsValidator : IValidateOptions<EmbeddedStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, EmbeddedStoreOptions options) => new OptionChecks()
        .Range("RAMCOIN_STORE_PORT", options.Port, 1, 65535)
        .Check(System.Net.IPAddress.TryParse(options.Bind, out _), $"RAMCOIN_BIND must be an IP address (it is '{options.Bind}').")
        .Result;
}
