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

    /// <summary>Serve without a password on a non-loopback address (a private network the operator vouches for).</summary>
    [ConfigurationKeyName("RAMCOIN_ALLOW_OPEN_STORE")]
    public bool AllowOpen { get; set; }

    /// <summary>Listening beyond this machine with no password: anyone who reaches the port reads and rewrites the wallet.</summary>
    public static bool IsOpen(string bind, string? password) =>
        string.IsNullOrEmpty(password) && System.Net.IPAddress.TryParse(bind, out var address) && !System.Net.IPAddress.IsLoopback(address);

    /// <summary>Why an open store is refused, in the launcher's words and the store's alike; null when it may start.</summary>
    public static string? OpenStoreRefusal(string bind, int port, string? password, bool allowOpen) =>
        IsOpen(bind, password) && !allowOpen
            ? $"the store would listen on {bind}:{port} without a password, so anyone who reaches that port could read and change the wallet. "
              + "Set REDIS_PASSWORD (the worker and webui use it too), or allow it on a private network with --allow-open-store / RAMCOIN_ALLOW_OPEN_STORE=true."
            : null;
}

public sealed class EmbeddedStoreOptionsValidator : IValidateOptions<EmbeddedStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, EmbeddedStoreOptions options)
    {
        var open = EmbeddedStoreOptions.OpenStoreRefusal(options.Bind, options.Port, options.Password, options.AllowOpen);
        return new OptionChecks()
            .Range("RAMCOIN_STORE_PORT", options.Port, 1, 65535)
            .Check(System.Net.IPAddress.TryParse(options.Bind, out _), $"RAMCOIN_BIND must be an IP address (it is '{options.Bind}').")
            .Check(open is null, $"RAMCOIN_BIND: {open}")
            .Result;
    }
}
