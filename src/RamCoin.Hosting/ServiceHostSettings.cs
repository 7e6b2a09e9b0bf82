namespace RamCoin.Hosting;

/// <summary>What a host that is not an HTTP service (the store) is started with: its name, arguments and overrides.</summary>
public sealed record ServiceHostSettings
{
    public required string Service { get; init; }

    /// <summary>Command-line arguments for a host that is not an HTTP service (the store).</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Settings that win over environment variables, for a host that is not an HTTP service (the store).</summary>
    public IReadOnlyDictionary<string, string?> Overrides { get; init; } = new Dictionary<string, string?>();
}
