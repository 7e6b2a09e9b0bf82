namespace RamCoin.Hosting;

/// <summary>Where a service finds its peers unless RNG_URL, HASHER_URL or REDIS_HOST/REDIS_PORT say otherwise.</summary>
public sealed record PeerAddresses(string RngUrl, string HasherUrl, string StoreHost, int StorePort, string WorkerUrl = "http://worker")
{
    /// <summary>The host names of the classic compose file and of the Kubernetes services.</summary>
    public static PeerAddresses Container { get; } = new("http://rng", "http://hasher", "redis", 6379);
}
