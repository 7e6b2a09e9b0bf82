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

    /// <summary>The host to connect to: REDIS_HOST without its port (and an IPv6 address without its brackets).</summary>
    public string HostName { get; internal set; } = PeerAddresses.Container.StoreHost;

    /// <summary>The port in use: REDIS_HOST's, else REDIS_PORT's, else the default of where the service runs.</summary>
    public int Port { get; internal set; } = PeerAddresses.Container.StorePort;

    /// <summary>What REDIS_HOST and REDIS_PORT did not say clearly, found as they were split; the validator reports it.</summary>
    internal List<string> AddressFailures { get; } = [];

    [ConfigurationKeyName("REDIS_PASSWORD")]
    public string? Password { get; set; }

    /// <summary>How long one store command may take before it counts as failed.</summary>
    [ConfigurationKeyName("REDIS_TIMEOUT_MS")]
    public int TimeoutMs { get; set; } = 2000;
}

/// <summary>Splits REDIS_HOST and REDIS_PORT once, with the other options, so that the connection uses what was checked.</summary>
public static class StoreAddress
{
    public const string HostSetting = "REDIS_HOST";

    public const string PortSetting = "REDIS_PORT";

    /// <summary>Applies REDIS_HOST's port or REDIS_PORT, after binding, over the default port.</summary>
    public static void Apply(StoreClientOptions options)
    {
        var checks = new OptionChecks();
        var portSetting = options.PortSetting?.Trim();
        if (!string.IsNullOrEmpty(portSetting))
        {
            if (ParsePort(portSetting) is int port)
            {
                options.Port = port;
            }
            else
            {
                checks.Check(false, $"{PortSetting} must be a port from 1 to 65535, or tcp://host:port (it is '{options.PortSetting}').");
            }
        }

        if (string.IsNullOrWhiteSpace(options.Host))
        {
            checks.NotEmpty(HostSetting, options.Host);
        }
        else if (TryParseHost(options.Host, out var host, out var hostPort))
        {
            options.HostName = host;
            options.Port = hostPort ?? options.Port;
        }
        else
        {
            checks.Check(false, $"{HostSetting} must be a host, or host:port with a port from 1 to 65535, such as redis, redis:6380 or [::1]:6380 (it is '{options.Host}').");
        }

        if (checks.Result.Failures is { } failures)
        {
            options.AddressFailures.AddRange(failures);
        }
    }

    /// <summary>
    /// REDIS_HOST: <c>redis</c>, <c>redis:6380</c>, <c>10.0.0.6</c>, <c>[::1]:6380</c>, or a bare IPv6 address (<c>::1</c>),
    /// whose colons are its own; the port, when given, is a number from 1 to 65535.
    /// </summary>
    public static bool TryParseHost(string value, out string host, out int? port)
    {
        var text = value.Trim();
        (host, port) = (text, null);
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || !System.Net.IPAddress.TryParse(text[1..close], out _))
            {
                return false;
            }

            host = text[1..close];
            var rest = text[(close + 1)..];
            return rest.Length == 0 || (rest[0] == ':' && (port = PortNumber(rest[1..])) is not null);
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return text.Length > 0;
        }

        if (text.IndexOf(':', colon + 1) >= 0)
        {
            return System.Net.IPAddress.TryParse(text, out _);
        }

        host = text[..colon];
        return host.Length > 0 && (port = PortNumber(text[(colon + 1)..])) is not null;
    }

    /// <summary>REDIS_PORT: a port number, or the <c>tcp://10.96.0.5:6379</c> form of Kubernetes and Docker links.</summary>
    public static int? ParsePort(string value) =>
        PortNumber(value)
        ?? (Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == "tcp" && uri.Port is >= 1 and <= 65535 ? uri.Port : null);

    private static int? PortNumber(string text) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? port
            : null;
}

public sealed class StoreClientOptionsValidator : IValidateOptions<StoreClientOptions>
{
    public ValidateOptionsResult Validate(string? name, StoreClientOptions options) => new OptionChecks()
        .Check(options.AddressFailures.Count == 0, string.Join(" ", options.AddressFailures))
        .Range("REDIS_TIMEOUT_MS", options.TimeoutMs, 100, 60_000)
        .Result;
}
