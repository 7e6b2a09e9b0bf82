using System.CommandLine;
using System.CommandLine.Invocation;
using RamCoin.Lessons;

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

    private static readonly Option<string> WebUIPortOption = Port("--webui-port", "webui", "RAMCOIN_WEBUI_PORT", 8000);
    private static readonly Option<string> RngPortOption = Port("--rng-port", "rng", "RAMCOIN_RNG_PORT", 8001);
    private static readonly Option<string> HasherPortOption = Port("--hasher-port", "hasher", "RAMCOIN_HASHER_PORT", 8002);
    private static readonly Option<string> WorkerPortOption = Port("--worker-port", "the worker's status endpoints", "RAMCOIN_WORKER_PORT", 8003);
    private static readonly Option<string> StorePortOption = Port("--store-port", "the embedded store (RESP)", "RAMCOIN_STORE_PORT", 6379);

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
            // The launcher's variables, read as configuration like the services' own: the process's, or those given.
            var variables = environment is null
                ? new ConfigurationBuilder().AddEnvironmentVariables().Build()
                : new ConfigurationBuilder().AddInMemoryCollection(environment).Build();
            var settings = Resolve(parsed, name => variables[name], errors);
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

    /// <summary>Command line first, then the environment, then the defaults; every bad value is reported.</summary>
    public static LauncherSettings? Resolve(ParseResult parsed, Func<string, string?> environment, List<string> errors)
    {
        var defaults = new LauncherSettings();
        string? Value(Option<string> option, string variable) => parsed.GetValue(option) ?? environment(variable);

        int PortValue(Option<string> option, string variable, int fallback)
        {
            var text = Value(option, variable);
            if (text is null)
            {
                return fallback;
            }

            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535)
            {
                return port;
            }

            errors.Add($"{option.Name} / {variable}: '{text}' is not a port number (1-65535).");
            return fallback;
        }

        var targets = ParseTargets(parsed.GetValue(TargetsArgument) is { Length: > 0 } given ? given : [environment("RAMCOIN_TARGETS") ?? "all"], errors);

        // The services' own rules and messages (OptionChecks), with the option's name beside the variable's.
        var checks = new OptionChecks();
        var profile = checks.Profile("--profile / " + HostingOptions.ProfileSetting, Value(ProfileOption, HostingOptions.ProfileSetting));
        var inMemory = parsed.GetValue(InMemoryOption) || (checks.Boolean("RAMCOIN_IN_MEMORY", environment("RAMCOIN_IN_MEMORY")) ?? false);
        var dataDir = Value(DataDirOption, "RAMCOIN_DATA_DIR");
        if (dataDir is not null && string.IsNullOrWhiteSpace(dataDir))
        {
            errors.Add("--data-dir / RAMCOIN_DATA_DIR: the folder name is empty (use --in-memory for no persistence).");
        }

        var urls = parsed.GetValue(UrlsOption);
        if (urls is not null && targets.Count(t => t != ServiceNames.Store) != 1)
        {
            errors.Add("--urls: it sets the address of one HTTP service; name exactly one target (rng, hasher, webui or worker).");
        }

        var bind = Value(BindOption, "RAMCOIN_BIND") ?? defaults.Bind;
        if (!System.Net.IPAddress.TryParse(bind, out _))
        {
            errors.Add($"--bind / RAMCOIN_BIND: '{bind}' is not an IP address (such as 127.0.0.1 or 0.0.0.0).");
        }

        // The store's settings as the store binds and checks them, its flags over its variables; refused here, before
        // anything starts: the store's own check would stop it only after the services before it.
        var storeFailures = new List<string>();
        var store = Store.EmbeddedStoreOptions.From(StoreConfiguration(parsed, environment, bind), storeFailures);
        if (targets.Contains(ServiceNames.Store))
        {
            errors.AddRange(storeFailures.Select(f => f.StartsWith(Store.EmbeddedStoreOptions.BindSetting + ": ", StringComparison.Ordinal) ? "--bind / " + f : f));
        }

        // The launcher never runs requests inline (Launcher.ConfigurationFor), but a bad value is refused as in the
        // services' own binaries.
        checks.Boolean(HostingOptions.InlineSetting, environment(HostingOptions.InlineSetting));
        errors.AddRange(checks.Result.Failures ?? []);

        var settings = new LauncherSettings
        {
            Targets = targets,
            Profile = profile,
            WebUIPort = PortValue(WebUIPortOption, "RAMCOIN_WEBUI_PORT", defaults.WebUIPort),
            RngPort = PortValue(RngPortOption, "RAMCOIN_RNG_PORT", defaults.RngPort),
            HasherPort = PortValue(HasherPortOption, "RAMCOIN_HASHER_PORT", defaults.HasherPort),
            WorkerPort = PortValue(WorkerPortOption, "RAMCOIN_WORKER_PORT", defaults.WorkerPort),
            StorePort = store.Port,
            Bind = bind,
            AllowOpenStore = store.AllowOpen,
            DataDir = inMemory ? null : (dataDir ?? defaults.DataDir),
            Urls = urls,
            AspNetChoosesAddress = AspNetAddressVariables.Any(v => !string.IsNullOrWhiteSpace(environment(v))),
        };

        var clashes = settings.Targets.GroupBy(settings.PortOf).Where(g => g.Count() > 1).ToList();
        foreach (var clash in clashes)
        {
            errors.Add($"{string.Join(" and ", clash)} are both set to port {clash.Key}.");
        }

        return errors.Count == 0 ? settings : null;
    }

    /// <summary>The store's own variables as the launcher was given them, with its flags over them.</summary>
    private static IConfiguration StoreConfiguration(ParseResult parsed, Func<string, string?> environment, string bind) =>
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [Store.EmbeddedStoreOptions.PortSetting] = parsed.GetValue(StorePortOption) ?? environment(Store.EmbeddedStoreOptions.PortSetting),
            // A bad address is the launcher's own --bind error, said once.
            [Store.EmbeddedStoreOptions.BindSetting] = System.Net.IPAddress.TryParse(bind, out _) ? bind : null,
            [Store.EmbeddedStoreOptions.AllowOpenSetting] = parsed.GetValue(AllowOpenStoreOption) ? "true" : environment(Store.EmbeddedStoreOptions.AllowOpenSetting),
            [Store.EmbeddedStoreOptions.PasswordSetting] = environment(Store.EmbeddedStoreOptions.PasswordSetting),
        }).Build();

    private static List<string> ParseTargets(IEnumerable<string> values, List<string> errors)
    {
        var names = values
            .SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
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
