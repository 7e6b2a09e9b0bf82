namespace RamCoin.Hosting;

/// <summary>How one service is hosted: alone (as in a container) or beside the others in the launcher.</summary>
public sealed record ServiceHostSettings
{
    public required string Service { get; init; }

    public Profile Profile { get; init; } = Profile.Classic;

    /// <summary>Peer defaults: container names when alone, loopback ports when hosted together.</summary>
    public PeerAddresses Peers { get; init; } = PeerAddresses.Container;

    /// <summary>
    /// The address Kestrel listens on (<c>http://127.0.0.1:8001</c>); null leaves it to ASP.NET's own
    /// settings (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>ASPNETCORE_HTTP_PORTS</c>), as in a container.
    /// </summary>
    public string? ListenUrl { get; init; }

    /// <summary>
    /// A second port for HTTP/2 without TLS (<see cref="H2cListener"/>); 0 for any free port. Null: only when
    /// <c>RAMCOIN_H2C_PORT</c> asks for one.
    /// </summary>
    public int? H2cPort { get; init; }

    /// <summary>
    /// In the launcher, the metrics of the first service, which the others' <c>/metrics</c> answer from: the
    /// SDK listens to every service's instruments in the process by name, so a provider per service would
    /// aggregate each measurement once per service (five times in the all-in-one run).
    /// </summary>
    public OpenTelemetry.Metrics.MeterProvider? SharedMetrics { get; init; }

    /// <summary>
    /// Kestrel runs requests on the socket's own thread instead of handing each to the thread pool
    /// (<see cref="ServiceMain.InlineScheduling"/> says when).
    /// </summary>
    public bool InlineScheduling { get; init; }

    /// <summary>Command-line arguments for ASP.NET's configuration (for example <c>--urls=...</c>).</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Settings that win over environment variables: used by tests and benchmarks.</summary>
    public IReadOnlyDictionary<string, string?> Overrides { get; init; } = new Dictionary<string, string?>();
}
