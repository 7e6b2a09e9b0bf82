namespace RamCoin.Hosting;

/// <summary>Where a service finds its peers unless RNG_URL, HASHER_URL or REDIS_HOST/REDIS_PORT say otherwise.</summary>
public sealed record PeerAddresses(string RngUrl, string HasherUrl, string StoreHost, int StorePort, string WorkerUrl = "http://worker")
{
    /// <summary>The host names of the classic compose file and of the Kubernetes services.</summary>
    public static PeerAddresses Container { get; } = new("http://rng", "http://hasher", "redis", 6379);

    /// <summary>An absolute http:// or https:// URL: what RNG_URL, HASHER_URL and WORKER_URL may be.</summary>
    public static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    /// <summary>Why a peer URL is refused, naming its variable (and the setting that replaced the old h2c:// URLs).</summary>
    public static string UrlFailure(string setting, string? value) =>
        $"{setting} must be an absolute http:// or https:// URL (it is '{value}')."
        + (value?.StartsWith("h2c:", StringComparison.OrdinalIgnoreCase) == true
            ? " For HTTP/2 without TLS, give http://host:port with WORKER_H2C=true."
            : "");

    /// <summary>These addresses as the configuration keys the services bind them from.</summary>
    public IReadOnlyDictionary<string, string?> ToConfiguration() => new Dictionary<string, string?>
    {
        ["RNG_URL"] = RngUrl,
        ["HASHER_URL"] = HasherUrl,
        ["WORKER_URL"] = WorkerUrl,
        ["REDIS_HOST"] = StoreHost,
        ["REDIS_PORT"] = StorePort.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The base address to call: with a trailing slash, so that relative paths land under a base path (a proxy's prefix).</summary>
    public static Uri BaseAddress(string url) => new(url.TrimEnd('/') + "/");
}
