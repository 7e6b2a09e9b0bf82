namespace RamCoin.Hosting;

/// <summary>
/// Who a service is and the defaults its options start from, before its configuration binds over them
/// (<see cref="IServiceDefaults"/>): made by <see cref="ServiceDefaults.AddServiceDefaults"/> from the configuration.
/// </summary>
public sealed record ServiceHostSettings
{
    public required string Service { get; init; }

    /// <summary><c>RAMCOIN_PROFILE</c>, read once with the host's settings.</summary>
    public Profile Profile { get; init; } = Profile.Classic;

    /// <summary>Peer defaults: container names (RNG_URL, HASHER_URL, REDIS_HOST... bind over them).</summary>
    public PeerAddresses Peers { get; init; } = PeerAddresses.Container;

    /// <summary>Command-line arguments for a host that is not an HTTP service (the store).</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Settings that win over environment variables, for a host that is not an HTTP service (the store).</summary>
    public IReadOnlyDictionary<string, string?> Overrides { get; init; } = new Dictionary<string, string?>();
}
