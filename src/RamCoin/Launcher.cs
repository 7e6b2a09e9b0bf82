using RamCoin.Lessons;

namespace RamCoin;

/// <summary>Starts the chosen services in order, runs them until Ctrl-C or SIGTERM, and stops them in reverse.</summary>
public static class Launcher
{
    private static readonly TimeSpan StopBudget = TimeSpan.FromSeconds(4.5);

    public static async Task<int> RunAsync(LauncherSettings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var started = new List<(string Target, IHost Host)>();
        var code = 1;
        var stoppedCleanly = true;
        try
        {
            code = await StartAndRunAsync(settings, started, output, error, cancellationToken);
        }
        finally
        {
            stoppedCleanly = await StopAllAsync(started, error);
        }

        // A stop that failed (the worker could not write what it computed) is not a success, whatever stopped us.
        return code == 0 && !stoppedCleanly ? 1 : code;
    }

    /// <summary>Starts the services into <paramref name="started"/> and waits until a signal or one of them stops.</summary>
    private static async Task<int> StartAndRunAsync(
        LauncherSettings settings, List<(string Target, IHost Host)> started, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var h2c = H2cPorts(settings);
        OpenTelemetry.Metrics.MeterProvider? metrics = null;
        var stoppedByItself = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var target in settings.Targets)
        {
            IHost host;
            try
            {
                host = Targets.Build(ConfigurationFor(settings, target, h2c), metrics);
                await host.StartAsync(cancellationToken);
                // The first service's meter provider serves every service's /metrics (ServiceDefaults.AddServiceDefaults).
                metrics ??= host.Services.GetService<OpenTelemetry.Metrics.MeterProvider>();
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return 0;
            }
            catch (Exception ex)
            {
                error.WriteLine($"ramcoin: {target} did not start: {Explain(ex, target, settings)}");
                // 2 for a bad setting, as the services' own programs (ServiceProgram) and the launcher's options.
                return ServiceProgram.IsBadSetting(ex) ? 2 : 1;
            }

            started.Add((target, host));
            host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping
                .Register(() => stoppedByItself.TrySetResult(target));
        }

        output.WriteLine(Banner(settings, h2c));
        var cancelled = Task.Delay(Timeout.Infinite, cancellationToken);
        var first = await Task.WhenAny(cancelled, stoppedByItself.Task);
        if (first == stoppedByItself.Task)
        {
            if (LessonProcessFaults.Crashed)
            {
                // The knob acts on the process: one service's crash stops them all, with its exit code.
                error.WriteLine($"ramcoin: {stoppedByItself.Task.Result} stopped on purpose (RAMCOIN_CRASH_AFTER_S); stopping the others.");
                return LessonProcessFaults.CrashExitCode;
            }

            error.WriteLine($"ramcoin: {stoppedByItself.Task.Result} stopped unexpectedly; stopping the others.");
            return 1;
        }

        return 0;
    }

    /// <summary>
    /// The configuration the launcher hands one service: where it listens, its profile and socket mode (over every
    /// other source), and where its peers are (under them): in this process on their local ports, else by container names.
    /// </summary>
    /// <param name="h2c">The h2c ports of rng and hasher (<see cref="H2cPorts"/>), which the worker calls.</param>
    public static ServiceConfiguration ConfigurationFor(LauncherSettings settings, string target, IReadOnlyDictionary<string, int>? h2c = null)
    {
        var args = new List<string>();
        var own = new Dictionary<string, string?>
        {
            [HostingOptions.ProfileSetting] = Profiles.Name(settings.Profile),
            // Never inline here: inline socket completions would reach every socket in the process, Garnet's too.
            [HostingOptions.InlineSetting] = "false",
        };
        if (target == ServiceNames.Store)
        {
            // Where the store listens and persists, as its own variables: it binds and checks them as standalone.
            foreach (var (key, value) in settings.StoreSettings)
            {
                own[key] = value;
            }
        }
        else if (settings.Urls is not null)
        {
            args.Add("--urls=" + settings.Urls);
        }
        else if (!(IsAlone(settings) && settings.AspNetChoosesAddress))
        {
            var host = settings.Bind.Contains(':', StringComparison.Ordinal) ? $"[{settings.Bind}]" : settings.Bind;
            own["urls"] = $"http://{host}:{settings.PortOf(target)}";
        }

        var peers = settings.Peers;
        if (h2c?.GetValueOrDefault(target) is int port and > 0)
        {
            own[H2cListener.PortSetting] = port.ToString(CultureInfo.InvariantCulture);
        }

        if (target == ServiceNames.Worker && h2c is { Count: > 0 })
        {
            // Fast profile: the worker calls rng and hasher over HTTP/2 without TLS on their second ports.
            own["WORKER_H2C"] = "true";
            peers = peers with
            {
                RngUrl = h2c.TryGetValue(ServiceNames.Rng, out var rng) ? settings.H2cUrl(rng) : peers.RngUrl,
                HasherUrl = h2c.TryGetValue(ServiceNames.Hasher, out var hasher) ? settings.H2cUrl(hasher) : peers.HasherUrl,
            };
        }

        return new ServiceConfiguration
        {
            Service = target,
            Defaults = peers.ToConfiguration(),
            Variables = settings.Overrides,
            Settings = own,
            Args = args,
        };
    }

    /// <summary>
    /// Fast profile with the worker, rng and hasher in this process: rng and hasher also listen for HTTP/2 on a second,
    /// free port, chosen here so that the worker's configuration can say it before they start. Both or neither, since
    /// WORKER_H2C is said once for both peers.
    /// </summary>
    public static IReadOnlyDictionary<string, int> H2cPorts(LauncherSettings settings)
    {
        var ports = new Dictionary<string, int>();
        if (settings.Profile == Profile.Fast && settings.Runs(ServiceNames.Worker) && settings.Runs(ServiceNames.Rng) && settings.Runs(ServiceNames.Hasher))
        {
            ports[ServiceNames.Rng] = FreePort(settings.Bind);
            ports[ServiceNames.Hasher] = FreePort(settings.Bind);
        }

        return ports;
    }

    /// <summary>A port the system has free now on the bind address (taken again a moment later by the service).</summary>
    private static int FreePort(string bind)
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Parse(bind), 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsAlone(LauncherSettings settings) => settings.Targets.Count(t => t != ServiceNames.Store) == 1;

    /// <summary>Stops every service; false if one of them failed its stop.</summary>
    private static async Task<bool> StopAllAsync(List<(string Target, IHost Host)> started, TextWriter error)
    {
        var clean = true;
        using var budget = new CancellationTokenSource(StopBudget);
        // Reverse start order: the worker flushes while the store still runs.
        for (var i = started.Count - 1; i >= 0; i--)
        {
            var (target, host) = started[i];
            try
            {
                await host.StopAsync(budget.Token);
            }
            catch (Exception ex)
            {
                error.WriteLine($"ramcoin: {target} did not stop cleanly: {(ex is AggregateException all ? string.Join("; ", all.InnerExceptions.Select(e => e.Message)) : ex.Message)}");
                clean = false;
            }
            finally
            {
                (host as IDisposable)?.Dispose();
            }
        }

        return clean;
    }

    private static string Explain(Exception ex, string target, LauncherSettings settings) => ServiceProgram.Explain(
        ex,
        $"port {settings.PortOf(target)} is already in use (choose another with --{target}-port or RAMCOIN_{target.ToUpperInvariant()}_PORT).",
        e => e is InvalidOperationException && e.Message.Contains("data directory", StringComparison.Ordinal)
            ? e.Message + " (choose another with --data-dir or RAMCOIN_DATA_DIR, or run --in-memory)."
            : null);

    private static string Banner(LauncherSettings settings, IReadOnlyDictionary<string, int> h2c)
    {
        var parts = settings.Targets.Select(t => t == ServiceNames.Store
            ? $"store {settings.LocalHost}:{settings.StorePort} ({settings.DataDir ?? "in memory"})"
            : $"{t} {settings.LocalUrl(t)}{(h2c.TryGetValue(t, out var port) ? $" (and {settings.H2cUrl(port)}, h2c, for the worker)" : "")}");
        var open = settings.Runs(ServiceNames.WebUI) ? $" Open {settings.LocalUrl(ServiceNames.WebUI)}/ to watch it mine." : "";
        return $"RamCoin is running, profile {settings.Profile.ToString().ToLowerInvariant()}.{open}{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", parts)}";
    }
}
