using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace RamCoin.Store;

/// <summary>The embedded Garnet store of the local run.</summary>
public sealed class EmbeddedStoreOptions
{
    [ConfigurationKeyName("RAMCOIN_STORE_PORT")]
    [Range(1, 65535, ErrorMessage = "RAMCOIN_STORE_PORT must be from {1} to {2}.")]
    public int Port { get; set; } = 6379;

    /// <summary>Address to listen on; loopback by default, so a laptop's store is not open to its network.</summary>
    [ConfigurationKeyName("RAMCOIN_BIND")]
    [Required(ErrorMessage = "RAMCOIN_BIND must not be empty.")]
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>Folder for the append-only file and checkpoints; empty means an in-memory store.</summary>
    [ConfigurationKeyName("RAMCOIN_DATA_DIR")]
    public string? DataDir { get; set; }

    /// <summary>When set, clients must AUTH with it (the same variable the clients use).</summary>
    [ConfigurationKeyName("REDIS_PASSWORD")]
    public string? Password { get; set; }
}

[OptionsValidator]
public sealed partial class EmbeddedStoreOptionsValidator : IValidateOptions<EmbeddedStoreOptions>;
