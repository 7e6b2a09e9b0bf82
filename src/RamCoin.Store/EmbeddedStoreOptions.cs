using System.Net;
using Garnet.server;
using Garnet.server.Auth.Settings;
using Tsavorite.core;

namespace RamCoin.Store;

/// <summary>
/// The embedded Garnet store's settings, bound from configuration by their variables' names (the store's own program
/// reads its environment; the launcher hands the store its flags as the same keys) and checked by
/// <see cref="EmbeddedStoreOptionsValidator"/>.
/// </summary>
public sealed record EmbeddedStoreOptions
{
    public const string PortSetting = "RAMCOIN_STORE_PORT";

    public const string BindSetting = "RAMCOIN_BIND";

    public const string DataDirSetting = "RAMCOIN_DATA_DIR";

    public const string AllowOpenSetting = "RAMCOIN_ALLOW_OPEN_STORE";

    public const string PasswordSetting = "REDIS_PASSWORD";

    /// <summary>Shorter passwords are refused at start, as the admin token's: a short word falls to a few guesses.</summary>
    public const int MinPasswordLength = 16;

    [ConfigurationKeyName(PortSetting)]
    public int Port { get; set; } = 6379;

    /// <summary>Address to listen on; loopback by default, so a laptop's store is not open to its network.</summary>
    [ConfigurationKeyName(BindSetting)]
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>Folder for the append-only file and checkpoints; empty means an in-memory store.</summary>
    [ConfigurationKeyName(DataDirSetting)]
    public string? DataDir { get; set; }

    /// <summary>When set, clients must AUTH with it (REDIS_PASSWORD, the same variable the clients use); kept trimmed.</summary>
    [ConfigurationKeyName(PasswordSetting)]
    public string? Password { get; set => field = PasswordOf(value); }

    /// <summary>Serve without a password on a non-loopback address (a private network the operator vouches for).</summary>
    [ConfigurationKeyName(AllowOpenSetting)]
    public bool AllowOpen { get; set; }

    /// <summary>Kept out of logs and test failures: a record prints every property, the password too.</summary>
    public override string ToString() => $"store {Bind}:{Port} ({(string.IsNullOrWhiteSpace(DataDir) ? "in memory" : DataDir)})";

    /// <summary>
    /// Garnet's typed options for these settings (as Garnet's own tests build them); the sizes are the ones measured
    /// to work on small machines.
    /// </summary>
    /// <param name="quiet">Leaves out Garnet's banner: once, at the store's first start, is enough.</param>
    public GarnetServerOptions GarnetOptions(ILoggerFactory loggerFactory, bool quiet)
    {
        var logger = loggerFactory.CreateLogger("Garnet");
        var garnet = new GarnetServerOptions(logger)
        {
            EndPoints = [new IPEndPoint(IPAddress.Parse(Bind), Port)],
            // Small memory: a coin miner stores a counter and a wallet, not gigabytes.
            LogMemorySize = "64m",
            PageSize = "1m",
            IndexMemorySize = "1m",
            QuietMode = quiet,
            AuthSettings = string.IsNullOrEmpty(Password) ? new NoAuthSettings() : new PasswordAuthenticationSettings(Password),
            // The native device library needs a newer glibc than some machines have.
            DeviceFactoryCreator = new LocalStorageNamedDeviceFactoryCreator(deviceType: DeviceType.RandomAccess, numCompletionThreads: 4, logger: logger),
        };
        if (!string.IsNullOrWhiteSpace(DataDir))
        {
            // Commit every write, and answer only once it is written: an acknowledged write survives kill -9.
            // Writes are rare here (a worker flushes once a second), so the latency costs nothing that shows.
            garnet.EnableAOF = true;
            garnet.CommitFrequencyMs = 0;
            garnet.WaitForCommit = true;
            // The AOF page must be at least twice the log page.
            garnet.AofMemorySize = "4m";
            garnet.AofPageSize = "2m";
            // Small segments: a checkpoint truncates whole ones.
            garnet.AofSegmentSize = "2m";
            // Recovery loads the last checkpoint and replays the AOF after it.
            garnet.CheckpointDir = Path.GetFullPath(DataDir);
            garnet.Recover = true;
        }

        return garnet;
    }

    /// <summary>
    /// The options a configuration gives, bound and checked as the store's host binds and checks them; what is wrong is
    /// added to <paramref name="failures"/>, named by the variables. The launcher refuses a bad store with it before
    /// anything starts, and learns the store's port from it.
    /// </summary>
    public static EmbeddedStoreOptions From(IConfiguration configuration, ICollection<string> failures)
    {
        var options = new EmbeddedStoreOptions();
        try
        {
            configuration.Bind(options);
        }
        catch (InvalidOperationException ex) when (OptionChecks.Unconvertible(ex) is { } unconvertible)
        {
            failures.Add(unconvertible);
            return new EmbeddedStoreOptions();
        }

        foreach (var failure in new EmbeddedStoreOptionsValidator().Validate(null, options).Failures ?? [])
        {
            failures.Add(failure);
        }

        return options;
    }

    /// <summary>REDIS_PASSWORD as the store uses it: trimmed (a Secret file's newline is no part of it); blank is none.</summary>
    public static string? PasswordOf(string? setting) => string.IsNullOrWhiteSpace(setting) ? null : setting.Trim();

    /// <summary>Why a password is refused; null when it may be used (or there is none).</summary>
    public static string? PasswordRefusal(string? password) =>
        PasswordOf(password) is { Length: < MinPasswordLength } used
            ? $"REDIS_PASSWORD must be at least {MinPasswordLength} characters (it has {used.Length}); generate one with: openssl rand -hex 16"
            : null;

    /// <summary>Listening beyond this machine with no password: anyone who reaches the port reads and rewrites the wallet.</summary>
    public static bool IsOpen(string bind, string? password) =>
        string.IsNullOrWhiteSpace(password) && IPAddress.TryParse(bind, out var address) && !IPAddress.IsLoopback(address);

    /// <summary>Why an open store is refused, in the launcher's words and the store's alike; null when it may start.</summary>
    public static string? OpenStoreRefusal(string bind, int port, string? password, bool allowOpen) =>
        IsOpen(bind, password) && !allowOpen
            ? $"the store would listen on {bind}:{port} without a password, so anyone who reaches that port could read and change the wallet. "
              + "Set REDIS_PASSWORD (the worker and webui use it too), or allow it on a private network with --allow-open-store / RAMCOIN_ALLOW_OPEN_STORE=true."
            : null;
}

public sealed class EmbeddedStoreOptionsValidator : IValidateOptions<EmbeddedStoreOptions>
{
    public ValidateOptionsResult Validate(string? name, EmbeddedStoreOptions options)
    {
        var open = EmbeddedStoreOptions.OpenStoreRefusal(options.Bind, options.Port, options.Password, options.AllowOpen);
        return new OptionChecks()
            .Check(options.Port is >= 1 and <= 65535, OptionChecks.PortFailure(EmbeddedStoreOptions.PortSetting, options.Port.ToString(CultureInfo.InvariantCulture)))
            .Check(IPAddress.TryParse(options.Bind, out _), $"{EmbeddedStoreOptions.BindSetting} must be an IP address (it is '{options.Bind}').")
            .Check(open is null, $"{EmbeddedStoreOptions.BindSetting}: {open}")
            .Check(EmbeddedStoreOptions.PasswordRefusal(options.Password) is null, EmbeddedStoreOptions.PasswordRefusal(options.Password) ?? "")
            .Result;
    }
}
