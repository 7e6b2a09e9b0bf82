using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RamCoin.Hosting;

namespace RamCoin.StoreContract;

/// <summary>The store a worker or webui talks to: Garnet, Redis or Valkey, anything that speaks RESP.</summary>
public sealed class StoreClientOptions
{
    /// <summary>Host name or address; may carry a port (<c>redis:6380</c>), which then wins over REDIS_PORT.</summary>
    [ConfigurationKeyName("REDIS_HOST")]
    public string Host { get; set; } = PeerAddresses.Container.StoreHost;

    /// <summary>
    /// REDIS_PORT as given: a port number, or the <c>tcp://10.96.0.5:6379</c> form that Kubernetes sets in every
    /// pod of a namespace with a Service named <c>redis</c> (Docker links did the same); its port is taken.
    /// </summary>
    [ConfigurationKeyName("REDIS_PORT")]
    public string? PortSetting { get; set; }

    /// <summary>The port in use: REDIS_PORT's, or the default of where the service runs (0 when REDIS_PORT is not understood).</summary>
    public int Port { get; internal set; } = PeerAddresses.Container.StorePort;

    [ConfigurationKeyName("REDIS_PASSWORD")]
    public string? Password { get; set; }

    /// <summary>How long one store command may take before it counts as failed.</summary>
    [ConfigurationKeyName("REDIS_TIMEOUT_MS")]
    public int TimeoutMs { get; set; } = 2000;
}

public static class StorePortSetting
{
    /// <summary>Applies REDIS_PORT, after binding, over the default port.</summary>
    public static void Apply(StoreClientOptions options)
    {
        var value = options.PortSetting?.Trim();
        if (string.IsNullOrEmpty(value))
        {
            return;
        }

        if (int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port))
        {
            options.Port = port;
        }
        else if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == "tcp" && uri.Port > 0)
        {
            options.Port = uri.Port;
        }
        else
        {
            options.Port = 0;
        }
    }
}

public sealed class StoreClientOptionsValidator : IValidateOptions<StoreClientOptions>
{
    public ValidateOptionsResult Validate(string? name, StoreClientOptions options) => new OptionChecks()
        .NotEmpty("REDIS_HOST", options.Host)
        .Check(options.Port is >= 1 and <= 65535, $"REDIS_PORT must be a port from 1 to 65535, or tcp://host:port (it is '{options.PortSetting}').")
        .Range("REDIS_TIMEOUT_MS", options.TimeoutMs, 100, 60_000)
        .Result;
}
