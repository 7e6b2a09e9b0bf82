namespace RamCoin.Hosting;

/// <summary>
/// The settings of the host itself, the same in every HTTP service: read from configuration and checked once,
/// while the host is built (Kestrel and the middleware are configured from them, before any options resolve).
/// </summary>
public sealed record HostingOptions
{
    public const string RequestTimeoutSetting = "RAMCOIN_REQUEST_TIMEOUT_MS";

    public const string AccessLogSetting = "RAMCOIN_ACCESS_LOG";

    public const int DefaultRequestTimeoutMs = 30_000;

    public const string MaxConnectionsSetting = "RAMCOIN_MAX_CONNECTIONS";

    /// <summary>Open connections a service accepts (the web UI adds WEBUI_MAX_STREAMS); past it Kestrel closes new ones at once.</summary>
    public const int DefaultMaxConnections = 1024;

    public int MaxConnections { get; init; } = DefaultMaxConnections;

    /// <summary>Longest time any request may take before it gets a 408 problem.</summary>
    public int RequestTimeoutMs { get; init; } = DefaultRequestTimeoutMs;

    /// <summary>One log line per request (<see cref="AccessLog"/>).</summary>
    public bool AccessLog { get; init; }

    /// <summary><c>RAMCOIN_H2C_PORT</c>: a second port for HTTP/2 without TLS (<see cref="H2cListener"/>); null without one.</summary>
    public int? H2cPort { get; init; }

    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">Every bad setting, each named by its variable.</exception>
    public static HostingOptions Read(IConfiguration configuration)
    {
        var checks = new OptionChecks();
        var options = new HostingOptions
        {
            RequestTimeoutMs = checks.WholeNumber(RequestTimeoutSetting, configuration[RequestTimeoutSetting], DefaultRequestTimeoutMs, 100, 600_000),
            AccessLog = checks.Boolean(AccessLogSetting, configuration[AccessLogSetting]) ?? false,
            MaxConnections = checks.WholeNumber(MaxConnectionsSetting, configuration[MaxConnectionsSetting], DefaultMaxConnections, 1, 100_000),
            H2cPort = checks.Port(H2cListener.PortSetting, configuration[H2cListener.PortSetting]),
        };
        checks.ThrowIfFailed<HostingOptions>();
        return options;
    }
}
