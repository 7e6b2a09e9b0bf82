namespace RamCoin.Hosting;

/// <summary>
/// The settings of the host itself, the same in every HTTP service: read from configuration and checked once,
/// while the host is built (Kestrel and the middleware are configured from them, before any options resolve).
/// </summary>
public sealed record HostingOptions
{
    public const string RequestTimeoutSetting = "RAMCOIN_REQUEST_TIMEOUT_MS";

    public const string AccessLogSetting = "RAMCOIN_ACCESS_LOG";

    public const string ProfileSetting = "RAMCOIN_PROFILE";

    public const int DefaultRequestTimeoutMs = 30_000;

    public const string MaxConnectionsSetting = "RAMCOIN_MAX_CONNECTIONS";

    public const string InlineSetting = "RAMCOIN_INLINE_SCHEDULING";

    /// <summary>.NET's socket engine runs completions on its own threads when this is 1 (read once, at the first socket).</summary>
    public const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Open connections a service accepts (the web UI adds WEBUI_MAX_STREAMS); past it Kestrel closes new ones at once.</summary>
    public const int DefaultMaxConnections = 1024;

    public Profile Profile { get; init; } = Profile.Classic;

    public int MaxConnections { get; init; } = DefaultMaxConnections;

    /// <summary>Longest time any request may take before it gets a 408 problem.</summary>
    public int RequestTimeoutMs { get; init; } = DefaultRequestTimeoutMs;

    /// <summary>One log line per request (<see cref="AccessLog"/>).</summary>
    public bool AccessLog { get; init; }

    /// <summary><c>RAMCOIN_H2C_PORT</c>: a second port for HTTP/2 without TLS (<see cref="H2cListener"/>); null without one.</summary>
    public int? H2cPort { get; init; }

    /// <summary><c>RAMCOIN_INLINE_SCHEDULING</c> as set; null leaves it to <see cref="RunsInline"/>.</summary>
    public bool? InlineScheduling { get; init; }

    /// <summary>
    /// Whether requests run on the socket threads (Kestrel's inline scheduling and inline socket completions):
    /// by default for rng and hasher serving HTTP/1.1 only, whose requests are short and never block (bench/:
    /// <c>wrk -t2 -c16</c> +10-25 % requests/s). Not with an h2c port: there one connection carries every call, and
    /// inline its requests would take turns on one thread. <c>RAMCOIN_INLINE_SCHEDULING=true|false</c> decides instead;
    /// the launcher always says false (inline socket completions would reach every socket in its process).
    /// </summary>
    public bool RunsInline(string service) =>
        InlineScheduling ?? (service is ServiceNames.Rng or ServiceNames.Hasher && H2cPort is null);

    /// <summary>Every setting read; a bad one is added to <paramref name="checks"/>, named by its variable, and its default used.</summary>
    public static HostingOptions Read(IConfiguration configuration, OptionChecks checks) => new()
    {
        Profile = checks.Profile(ProfileSetting, configuration[ProfileSetting]),
        RequestTimeoutMs = checks.WholeNumber(RequestTimeoutSetting, configuration[RequestTimeoutSetting], DefaultRequestTimeoutMs, 100, 600_000),
        AccessLog = checks.Boolean(AccessLogSetting, configuration[AccessLogSetting]) ?? false,
        MaxConnections = checks.WholeNumber(MaxConnectionsSetting, configuration[MaxConnectionsSetting], DefaultMaxConnections, 1, 100_000),
        H2cPort = checks.Port(H2cListener.PortSetting, configuration[H2cListener.PortSetting]),
        InlineScheduling = checks.Boolean(InlineSetting, configuration[InlineSetting]),
    };
}
