using System.CommandLine;
using System.CommandLine.Invocation;
using RamCoin.Lessons;
using RamCoin.Store;

namespace RamCoin;

/// <summary>
/// The command line of <c>ramcoin</c>: which services to run and on which ports. Every option also reads an
/// environment variable, so that containers and CI can set it without a command line.
/// </summary>
public static class LauncherCommand
{
    /// <summary>After SIGTERM or Ctrl-C the launcher has this long to flush the worker and stop.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    public static InvocationConfiguration Invocation { get; } = new()
    {
        // The launcher answers the signals itself (StopSignals), so that RAMCOIN_IGNORE_SIGTERM can ignore SIGTERM.
        ProcessTerminationTimeout = null,
    };

    private static readonly Argument<string[]> TargetsArgument = new("targets")
    {
        Description = "Services to run: all (default), or a comma list of store, rng, hasher, webui, worker. [env: RAMCOIN_TARGETS]",
        Arity = ArgumentArity.ZeroOrMore,
    };

    private static readonly Option<string> ProfileOption = new("--profile")
    {
        Description = "classic (DockerCoins' timings, default) or fast (no delays, more concurrency). [env: RAMCOIN_PROFILE]",
    };

    private const string TargetsSetting = "RAMCOIN_TARGETS";
    private const string InMemorySetting = "RAMCOIN_IN_MEMORY";
    private const string WebUIPortSetting = "RAMCOIN_WEBUI_PORT";
    private const string RngPortSetting = "RAMCOIN_RNG_PORT";
    private const string HasherPortSetting = "RAMCOIN_HASHER_PORT";
    private const string WorkerPortSetting = "RAMCOIN_WORKER_PORT";

    private static readonly Option<string> WebUIPortOption = Port("--webui-port", "webui", WebUIPortSetting, 8000);
    private static readonly Option<string> RngPortOption = Port("--rng-port", "rng", RngPortSetting, 8001);
    private static readonly Option<string> HasherPortOption = Port("--hasher-port", "hasher", HasherPortSetting, 8002);
    private static readonly Option<string> WorkerPortOption = Port("--worker-port", "the worker's status endpoints", WorkerPortSetting, 8003);
    private static readonly Option<string> StorePortOption = Port("--store-port", "the embedded store (RESP)", EmbeddedStoreOptions.PortSetting, 6379);

    private static readonly Option<string> BindOption = new("--bind")
    {
        Description = "Address every service listens on (default 127.0.0.1; 0.0.0.0 opens them to the network). [env: RAMCOIN_BIND]",
    };

    private static readonly Option<bool> AllowOpenStoreOption = new("--allow-open-store")
    {
        Description = "Let the embedded store listen beyond loopback without REDIS_PASSWORD (a private network only). [env: RAMCOIN_ALLOW_OPEN_STORE=true]",
    };

    private static readonly Option<string> DataDirOption = new("--data-dir")
    {
        Description = $"Folder where the embedded store persists (default {LauncherSettings.DefaultDataDir()}). [env: RAMCOIN_DATA_DIR]",
    };

    private static readonly Option<bool> InMemoryOption = new("--in-memory")
    {
        Description = "Keep the embedded store in memory only: nothing survives a restart. [env: RAMCOIN_IN_MEMORY=true]",
    };

    private static readonly Option<string> UrlsOption = new("--urls")
    {
        Description = "ASP.NET Core listen URLs, for a single HTTP service (as in a container; ASPNETCORE_HTTP_PORTS works too).",
    };

    /// <summary>Each flag and the variable it sets: the command line is a configuration layer under the variables' names.</summary>
    private static readonly (Option Flag, string Setting)[] Flags =
    [
        (ProfileOption, HostingOptions.ProfileSetting),
        (WebUIPortOption, WebUIPortSetting),
        (RngPortOption, RngPortSetting),
        (HasherPortOption, HasherPortSetting),
        (WorkerPortOption, WorkerPortSetting),
        (StorePortOption, EmbeddedStoreOptions.PortSetting),
        (BindOption, EmbeddedStoreOptions.BindSetting),
        (AllowOpenStoreOption, EmbeddedStoreOptions.AllowOpenSetting),
        (DataDirOption, EmbeddedStoreOptions.DataDirSetting),
        (InMemoryOption, InMemorySetting),
    ];

    /// <summary>
    /// The program (<c>Program.cs</c>): parses, runs, and answers a mistyped command line with its one-line error and
    /// exit code 2 (bad usage), as a bad setting does: 1 means a service that failed, or a lab check that did not pass.
    /// </summary>
    /// <param name="environment">
    /// Null reads the process's environment variables. Given (tests run the program in their own process), the
    /// launcher reads its settings from it, and its services see it as configuration, as they see the variables.
    /// </param>
    public static async Task<int> RunAsync(
        string[] args,
        TextWriter? output = null,
        TextWriter? error = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var parsed = Create(output, error, environment).Parse(args);
        var invocation = output is null && error is null
            ? Invocation
            : new InvocationConfiguration { ProcessTerminationTimeout = null, Output = output ?? Console.Out, Error = error ?? Console.Error };
        if (parsed.Action is ParseErrorAction parseError)
        {
            parseError.ShowHelp = false;
            await parsed.InvokeAsync(invocation, cancellationToken);
            return 2;
        }

        return await parsed.InvokeAsync(invocation, cancellationToken);
    }

    public static RootCommand Create(TextWriter? output = null, TextWriter? error = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var root = new RootCommand("RamCoin: the coin-miner microservices of cloud courses (DockerCoins), all in one process or one service at a time.")
        {
            TargetsArgument, ProfileOption, WebUIPortOption, RngPortOption, HasherPortOption, WorkerPortOption, StorePortOption,
            BindOption, AllowOpenStoreOption, DataDirOption, InMemoryOption, UrlsOption,
        };
        root.Subcommands.Add(LabCheckCommand.Create(output, error));
        root.SetAction(async (parsed, cancellationToken) =>
        {
            var errors = new List<string>();
            // The launcher's variables, read as configuration like the services' own (the process's, or those given),
            // and the flags given as a layer over them, under the variables' names.
            var variables = environment is null
                ? new ConfigurationBuilder().AddEnvironmentVariables()
                : new ConfigurationBuilder().AddInMemoryCollection(environment);
            var settings = Resolve(parsed, variables.AddInMemoryCollection(FlagsGiven(parsed)).Build(), errors);
            if (settings is not null && environment is not null)
            {
                settings = settings with { Overrides = environment };
            }

            if (settings is null)
            {
                foreach (var message in errors)
                {
                    (error ?? Console.Error).WriteLine($"ramcoin: {message}");
                }

                return 2;
            }

            return await RunUntilStoppedAsync(settings, output ?? Console.Out, error ?? Console.Error, cancellationToken);
        });
        return root;
    }

    /// <summary>
    /// Runs the launcher until SIGTERM or Ctrl-C (which cancel the run, as System.CommandLine's termination handling
    /// did); a launcher that has not stopped <see cref="StopTimeout"/> after the signal exits anyway, 143 or 130.
    /// </summary>
    private static async Task<int> RunUntilStoppedAsync(LauncherSettings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var signalled = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var signals = StopSignals.Register(
            signal =>
            {
                signalled.TrySetResult(signal == System.Runtime.InteropServices.PosixSignal.SIGINT ? 130 : 143);
                stop.Cancel();
            },
            message => error.WriteLine($"ramcoin: {message}"),
            LessonDefaults.SigtermHold);
        var run = Launcher.RunAsync(settings, output, error, stop.Token);
        var overdue = signalled.Task.ContinueWith(async s => { await Task.Delay(StopTimeout, CancellationToken.None); return s.Result; }, TaskScheduler.Default).Unwrap();
        return await await Task.WhenAny(run, overdue);
    }

    /// <summary>
    /// The launcher's settings from one configuration: its variables with the flags given over them, under the same
    /// names (<see cref="FlagsGiven"/>). Checked by the services' own rules (OptionChecks and the store's validator), each
    /// message naming the flag and the variable; every bad value is reported.
    /// </summary>
    public static LauncherSettings? Resolve(ParseResult parsed, IConfiguration configuration, List<string> errors)
    {
        var defaults = new LauncherSettings();
        var checks = new OptionChecks();
        int ReadPort(string setting, int fallback) => checks.Port(Shown(setting), configuration[setting]) ?? fallback;

        var targets = ParseTargets(configuration[TargetsSetting] ?? "all", errors);
        var profile = checks.Profile(Shown(HostingOptions.ProfileSetting), configuration[HostingOptions.ProfileSetting]);
        var (webui, rng, hasher, worker) = (ReadPort(WebUIPortSetting, defaults.WebUIPort), ReadPort(RngPortSetting, defaults.RngPort), ReadPort(HasherPortSetting, defaults.HasherPort), ReadPort(WorkerPortSetting, defaults.WorkerPort));
        var inMemory = checks.Boolean(Shown(InMemorySetting), configuration[InMemorySetting]) ?? false;
        var dataDir = configuration[EmbeddedStoreOptions.DataDirSetting];
        checks.Check(dataDir is null || !string.IsNullOrWhiteSpace(dataDir), $"{Shown(EmbeddedStoreOptions.DataDirSetting)} must name a folder (it is empty; --in-memory keeps nothing on disk).");
        var bind = configuration[EmbeddedStoreOptions.BindSetting] ?? defaults.Bind;
        var bindIsAddress = System.Net.IPAddress.TryParse(bind, out _);
        checks.Check(bindIsAddress, $"{Shown(EmbeddedStoreOptions.BindSetting)} must be an IP address such as 127.0.0.1 or 0.0.0.0 (it is '{bind}').");

        // The launcher never runs requests inline (Launcher.ConfigurationFor), but a bad value is refused as in the
        // services' own binaries.
        checks.Boolean(HostingOptions.InlineSetting, configuration[HostingOptions.InlineSetting]);

        var urls = parsed.GetValue(UrlsOption);
        checks.Check(urls is null || targets.Count(t => t != ServiceNames.Store) == 1, "--urls sets the address of one HTTP service: name exactly one target (rng, hasher, webui or worker).");
        errors.AddRange(checks.Result.Failures ?? []);

        // The store's settings as the store binds and checks them, refused here, before anything starts: the store's own
        // check would stop it only after the services before it. A bad address is the launcher's own error, said once.
        var storeFailures = new List<string>();
        string[] storeSettings = [EmbeddedStoreOptions.PortSetting, EmbeddedStoreOptions.AllowOpenSetting, EmbeddedStoreOptions.PasswordSetting];
        var storeView = storeSettings.ToDictionary(k => k, k => configuration[k]);
        storeView[EmbeddedStoreOptions.BindSetting] = bindIsAddress ? bind : defaults.Bind;
        var store = EmbeddedStoreOptions.From(new ConfigurationBuilder().AddInMemoryCollection(storeView).Build(), storeFailures);
        if (targets.Contains(ServiceNames.Store))
        {
            errors.AddRange(storeFailures.Select(f => f.StartsWith(EmbeddedStoreOptions.BindSetting + ": ", StringComparison.Ordinal) ? "--bind / " + f : f));
        }

        var settings = new LauncherSettings
        {
            Targets = targets,
            Profile = profile,
            WebUIPort = webui,
            RngPort = rng,
            HasherPort = hasher,
            WorkerPort = worker,
            StorePort = store.Port,
            Bind = bind,
            AllowOpenStore = store.AllowOpen,
            DataDir = inMemory ? null : (dataDir ?? defaults.DataDir),
            Urls = urls,
            AspNetChoosesAddress = AspNetAddressVariables.Any(v => !string.IsNullOrWhiteSpace(configuration[v])),
        };
        foreach (var clash in settings.Targets.GroupBy(settings.PortOf).Where(g => g.Count() > 1))
        {
            errors.Add($"{string.Join(" and ", clash)} are both set to port {clash.Key}.");
        }

        return errors.Count == 0 ? settings : null;
    }

    /// <summary>The command line as a configuration layer: each flag given, under its variable's name.</summary>
    private static Dictionary<string, string?> FlagsGiven(ParseResult parsed)
    {
        var given = new Dictionary<string, string?>();
        if (parsed.GetValue(TargetsArgument) is { Length: > 0 } targets)
        {
            given[TargetsSetting] = string.Join(',', targets);
        }

        foreach (var (flag, setting) in Flags)
        {
            if (flag is Option<string> text && parsed.GetValue(text) is { } value)
            {
                given[setting] = value;
            }
            else if (flag is Option<bool> switched && parsed.GetValue(switched))
            {
                given[setting] = "true";
            }
        }

        return given;
    }

    /// <summary>A setting as a message names it: its flag and its variable.</summary>
    private static string Shown(string setting) =>
        Array.Find(Flags, f => f.Setting == setting) is ({ } flag, _) ? $"{flag.Name} / {setting}" : setting;

    private static List<string> ParseTargets(string list, List<string> errors)
    {
        var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => v.ToLowerInvariant())
            .ToList();
        if (names.Count == 0 || names.Contains("all"))
        {
            return [.. ServiceNames.All];
        }

        foreach (var unknown in names.Where(n => !ServiceNames.All.Contains(n)).Distinct())
        {
            errors.Add($"unknown target '{unknown}' (choose all, or from {string.Join(", ", ServiceNames.All)}).");
        }

        // Start order is fixed (peers first), whatever order they were named in.
        return [.. ServiceNames.All.Where(names.Contains)];
    }

    /// <summary>ASP.NET's own address settings, which a lone service follows as in a container.</summary>
    private static readonly string[] AspNetAddressVariables = ["ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_URLS"];

    private static Option<string> Port(string name, string what, string variable, int port) => new(name)
    {
        Description = $"Port of {what} (default {port}). [env: {variable}]",
    };
}
