using RamCoin.Store;

namespace RamCoin;

/// <summary>What the launcher runs, resolved from its options and environment variables.</summary>
public sealed record LauncherSettings
{
    public IReadOnlyList<string> Targets { get; init; } = ServiceNames.All;

    public Profile Profile { get; init; } = Profile.Classic;

    public int WebUIPort { get; init; } = 8000;

    public int RngPort { get; init; } = 8001;

    public int HasherPort { get; init; } = 8002;

    public int WorkerPort { get; init; } = 8003;

    public int StorePort { get; init; } = 6379;

    public string Bind { get; init; } = "127.0.0.1";

    /// <summary>The embedded store may listen beyond loopback without a password (RAMCOIN_ALLOW_OPEN_STORE).</summary>
    public bool AllowOpenStore { get; init; }

    /// <summary>Null for an in-memory store.</summary>
    public string? DataDir { get; init; } = DefaultDataDir();

    /// <summary>
    /// The configuration the launcher hands the embedded store, by the store's own variables' names: where it listens
    /// and persists (its password it reads as standalone, from REDIS_PASSWORD).
    /// </summary>
    public IReadOnlyDictionary<string, string?> StoreSettings => new Dictionary<string, string?>
    {
        [EmbeddedStoreOptions.PortSetting] = StorePort.ToString(CultureInfo.InvariantCulture),
        [EmbeddedStoreOptions.BindSetting] = Bind,
        // Empty: in memory (--in-memory).
        [EmbeddedStoreOptions.DataDirSetting] = DataDir ?? "",
        [EmbeddedStoreOptions.AllowOpenSetting] = AllowOpenStore ? "true" : "false",
    };

    /// <summary>ASP.NET's <c>--urls</c>, for a single HTTP service (as in a container).</summary>
    public string? Urls { get; init; }

    /// <summary>
    /// The variables the launcher was given instead of the process's own (tests and benchmarks): every service sees
    /// them as configuration, as it sees the process's variables.
    /// </summary>
    public IReadOnlyDictionary<string, string?> Overrides { get; init; } = new Dictionary<string, string?>();

    /// <summary>ASP.NET's own settings say where a lone service listens (ASPNETCORE_HTTP_PORTS, as in a container).</summary>
    public bool AspNetChoosesAddress { get; init; }

    /// <summary>Kept out of logs and test failures: a record prints every property, the variables given too.</summary>
    public override string ToString() => $"ramcoin {string.Join(',', Targets)}, profile {Profile}";

    public bool Runs(string target) => Targets.Contains(target);

    public int PortOf(string target) => target switch
    {
        ServiceNames.WebUI => WebUIPort,
        ServiceNames.Rng => RngPort,
        ServiceNames.Hasher => HasherPort,
        ServiceNames.Worker => WorkerPort,
        ServiceNames.Store => StorePort,
        _ => throw new ArgumentOutOfRangeException(nameof(target), target, "unknown target"),
    };

    /// <summary>The address this process's services are reached at: the bind address, or loopback for "any".</summary>
    public string LocalHost => Bind is "0.0.0.0" or "::" or "*" or "+" ? "127.0.0.1" : Bind;

    public string LocalUrl(string target) =>
        $"http://{(LocalHost.Contains(':', StringComparison.Ordinal) ? $"[{LocalHost}]" : LocalHost)}:{PortOf(target)}";

    /// <summary>A service's h2c port in this process, as the worker calls it.</summary>
    public string H2cUrl(int port) =>
        $"http://{(LocalHost.Contains(':', StringComparison.Ordinal) ? $"[{LocalHost}]" : LocalHost)}:{port}";

    /// <summary>Peers in this process are called on their local ports; the others by their container names.</summary>
    public PeerAddresses Peers => new(
        Runs(ServiceNames.Rng) ? LocalUrl(ServiceNames.Rng) : PeerAddresses.Container.RngUrl,
        Runs(ServiceNames.Hasher) ? LocalUrl(ServiceNames.Hasher) : PeerAddresses.Container.HasherUrl,
        Runs(ServiceNames.Store) ? LocalHost : PeerAddresses.Container.StoreHost,
        Runs(ServiceNames.Store) ? StorePort : PeerAddresses.Container.StorePort,
        Runs(ServiceNames.Worker) ? LocalUrl(ServiceNames.Worker) : PeerAddresses.Container.WorkerUrl);

    public static string DefaultDataDir()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        return string.IsNullOrEmpty(home) ? Path.GetFullPath("data") : Path.Combine(home, "ramcoin");
    }
}
