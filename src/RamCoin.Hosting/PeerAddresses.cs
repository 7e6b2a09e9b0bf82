namespace RamCoin.Hosting;

/// <summary>Where a service finds its peers unless RNG_URL, HASHER_URL or REDIS_HOST/REDIS_PORT say otherwise.</summary>
public sealed record PeerAddresses(string RngUrl, string HasherUrl, string StoreHost, int StorePort, string WorkerUrl = "http://worker")
{
    /// <summary>The host names of the classic compose file and of the Kubernetes services.</summary>
    public static PeerAddresses Container { get; } = new("http://rng", "http://hasher", "redis", 6379);

    /// <summary><c>h2c://host:port</c>: HTTP/2 without TLS to a service's h2c port (RAMCOIN_H2C_PORT).</summary>
    public const string H2cScheme = "h2c";

    /// <summary>An absolute http://, https:// or h2c:// URL: what RNG_URL, HASHER_URL and WORKER_URL may be.</summary>
    public static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == H2cScheme);

    /// <summary>These addresses as the configuration keys the services bind them from.</summary>
    public IReadOnlyDictionary<string, string?> ToConfiguration() => new Dictionary<string, string?>
    {
        ["RNG_URL"] = RngUrl,
        ["HASHER_URL"] = HasherUrl,
        ["WORKER_URL"] = WorkerUrl,
        ["REDIS_HOST"] = StoreHost,
        ["REDIS_PORT"] = StorePort.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The base address to call and whether to call it with HTTP/2 prior knowledge (an h2c:// URL).</summary>
    public static (Uri BaseAddress, bool Http2) Endpoint(string url)
    {
        // A trailing slash makes relative paths land under a base path (behind a proxy prefix too).
        var uri = new Uri(url.TrimEnd('/') + "/");
        return uri.Scheme == H2cScheme
            ? (new UriBuilder(uri) { Scheme = Uri.UriSchemeHttp, Port = uri.Port }.Uri, true)
            : (uri, false);
    }
}
