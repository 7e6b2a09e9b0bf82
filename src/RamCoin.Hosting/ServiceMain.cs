using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace RamCoin.Hosting;

/// <summary>
/// The <c>Main</c> of one service's own binary (the Native AOT program inside its container image):
/// the same builder and endpoints as in the launcher, on port 80 unless ASP.NET's settings say otherwise,
/// stopped by SIGTERM; and <c>healthcheck</c>, which images without curl use as their health check.
/// </summary>
public static class ServiceMain
{
    /// <summary>DockerCoins' services listen on 80 in their containers; so do ours.</summary>
    public const int ContainerPort = 80;

    private static readonly string[] AspNetAddressVariables = ["ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_URLS"];

    public static async Task<int> RunAsync(string[] args, string service, Action<WebApplicationBuilder> add, Action<WebApplication> map)
    {
        if (args is ["healthcheck", .. var rest])
        {
            return await HealthCheckAsync(service, rest, Environment.GetEnvironmentVariable);
        }

        if (args is ["--help" or "-h" or "-?", ..])
        {
            Console.Out.WriteLine(Usage(service));
            return 0;
        }

        var profileText = Environment.GetEnvironmentVariable("RAMCOIN_PROFILE");
        if (!Profiles.TryParse(profileText ?? "classic", out var profile))
        {
            Console.Error.WriteLine($"{service}: RAMCOIN_PROFILE: '{profileText}' is not a profile (classic or fast).");
            return 2;
        }

        if (InlineScheduling(service, Environment.GetEnvironmentVariable) is not bool inline)
        {
            Console.Error.WriteLine($"{service}: {OptionChecks.BooleanFailure(InlineSetting, Environment.GetEnvironmentVariable(InlineSetting))}");
            return 2;
        }

        if (inline && Environment.GetEnvironmentVariable(InlineCompletions) is null)
        {
            // Read by the socket engine when it first starts, which has not happened yet in this process.
            Environment.SetEnvironmentVariable(InlineCompletions, "1");
        }

        WebApplication app;
        try
        {
            var builder = ServiceHost.CreateBuilder(new ServiceHostSettings
            {
                Service = service,
                Profile = profile,
                Args = args,
                ListenUrl = AspNetChoosesAddress(args) ? null : $"http://+:{ContainerPort}",
                InlineScheduling = inline,
            });
            add(builder);
            // SIGTERM as the lesson knobs say (RAMCOIN_IGNORE_SIGTERM), instead of the console lifetime.
            builder.Services.AddSingleton<IHostLifetime, StopSignalsLifetime>();
            app = builder.Build();
            app.MapServiceDefaults();
            map(app);
            await app.StartAsync();
        }
        catch (Exception ex)
        {
            var reason = Explain(ex, "its port is already in use (set ASPNETCORE_HTTP_PORTS or --urls).", e =>
                e is SocketException { SocketErrorCode: SocketError.AccessDenied }
                    ? $"no permission to listen on port {ContainerPort} (run as root, allow unprivileged ports, or set ASPNETCORE_HTTP_PORTS)."
                    : null);
            Console.Error.WriteLine($"{service}: did not start: {reason}");
            return IsBadSetting(ex) ? 2 : 1;
        }

        // SIGTERM and Ctrl-C stop gracefully (the worker flushes), as with the default console lifetime.
        var stopFailure = "";
        try
        {
            await app.WaitForShutdownAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A part that failed its stop (the worker could not write what it computed): the host logged it.
            stopFailure = ex is AggregateException all ? string.Join("; ", all.InnerExceptions.Select(e => e.Message)) : ex.Message;
        }

        var faulted = FaultedBackgroundService(app.Services);
        await app.DisposeAsync();
        if (LessonProcessFaults.Crashed)
        {
            Console.Error.WriteLine($"{service}: stopped on purpose by RAMCOIN_CRASH_AFTER_S (exit code {LessonProcessFaults.CrashExitCode}).");
            return LessonProcessFaults.CrashExitCode;
        }

        if (faulted is not null)
        {
            // The host logged the exception and stopped; a non-zero exit lets every restart policy bring it back.
            Console.Error.WriteLine($"{service}: stopped because {faulted} failed.");
            return 1;
        }

        if (stopFailure.Length > 0)
        {
            Console.Error.WriteLine($"{service}: did not stop cleanly: {stopFailure}");
            return 1;
        }

        return 0;
    }

    /// <summary>The name of a background service that ended with an exception (which stops the host), if any.</summary>
    public static string? FaultedBackgroundService(IServiceProvider services) =>
        services.GetServices<IHostedService>()
            .OfType<BackgroundService>()
            .FirstOrDefault(s => s.ExecuteTask is { IsFaulted: true })?.GetType().Name;

    public const string InlineSetting = "RAMCOIN_INLINE_SCHEDULING";

    /// <summary>.NET's socket engine runs completions on its own threads when this is 1 (read once, at the first socket).</summary>
    public const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>
    /// Whether requests run on the socket threads (Kestrel's inline scheduling and inline socket completions):
    /// by default for rng and hasher serving HTTP/1.1 only, whose requests are short and never block; measured in
    /// bench/ with <c>wrk -t2 -c16</c>: +10-25 % requests/s, and +5-14 % hashes/s for a worker over HTTP/1.1. Not
    /// with an h2c port: there one connection carries every call, and inline its requests would take turns on one
    /// thread (bench/: -15-30 % hashes/s). <c>RAMCOIN_INLINE_SCHEDULING=true|false</c> decides instead; null for
    /// any other value (the launcher refuses it too, with the same message, though it never runs requests inline).
    /// </summary>
    public static bool? InlineScheduling(string service, Func<string, string?> environment)
    {
        var checks = new OptionChecks();
        var set = checks.Boolean(InlineSetting, environment(InlineSetting));
        return checks.Result.Succeeded
            ? set ?? (service is ServiceNames.Rng or ServiceNames.Hasher && string.IsNullOrWhiteSpace(environment(H2cListener.PortSetting)))
            : null;
    }

    /// <summary>In a container, ASPNETCORE_HTTP_PORTS (or _URLS, or <c>--urls</c>) says where a lone service listens.</summary>
    public static bool AspNetChoosesAddress(IReadOnlyList<string> args) =>
        args.Any(a => a.StartsWith("--urls", StringComparison.Ordinal))
        || AspNetAddressVariables.Any(v => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(v)));

    /// <summary>
    /// <c>healthcheck [url]</c>: GET /healthz on this container's own port, exit 0 on 200 and 1 otherwise,
    /// within 3 seconds; the image needs no curl.
    /// </summary>
    public static async Task<int> HealthCheckAsync(string service, IReadOnlyList<string> args, Func<string, string?> environment)
    {
        var url = args.Count > 0 ? args[0] : $"http://127.0.0.1:{OwnPort(environment)}/healthz";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            Console.Error.WriteLine($"{service} healthcheck: '{url}' is not an http:// URL.");
            return 2;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(uri);
            Console.Out.WriteLine($"{service} healthcheck: {uri} answered {(int)response.StatusCode}.");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"{service} healthcheck: {uri} did not answer: {ex.Message}");
            return 1;
        }
    }

    /// <summary>The port this service listens on in its container: the first of ASPNETCORE_HTTP_PORTS or _URLS, else 80.</summary>
    public static int OwnPort(Func<string, string?> environment)
    {
        var ports = environment("ASPNETCORE_HTTP_PORTS");
        if (!string.IsNullOrWhiteSpace(ports) && int.TryParse(ports.Split(';', ',')[0].Trim(), out var port))
        {
            return port;
        }

        var urls = environment("ASPNETCORE_URLS") ?? environment("DOTNET_URLS");
        if (!string.IsNullOrWhiteSpace(urls))
        {
            var first = urls.Split(';')[0].Trim().Replace("://+", "://localhost", StringComparison.Ordinal)
                .Replace("://*", "://localhost", StringComparison.Ordinal);
            if (Uri.TryCreate(first, UriKind.Absolute, out var uri))
            {
                return uri.Port;
            }
        }

        return ContainerPort;
    }

    /// <summary>
    /// The one-line reason a service did not start, for the launcher and the standalone programs alike: a taken
    /// port, bad settings (every failure, named by its variable), something the caller knows better, or the message.
    /// </summary>
    public static string Explain(Exception ex, string portInUse, Func<Exception, string?>? special = null)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (special?.Invoke(e) is { } reason)
            {
                return reason;
            }

            if (e is AddressInUseException || e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse })
            {
                return portInUse;
            }

            if (e is OptionsValidationException validation)
            {
                return string.Join(" ", validation.Failures);
            }

            if (OptionChecks.Unconvertible(e) is { } unreadable)
            {
                return unreadable;
            }
        }

        return ex.Message;
    }

    /// <summary>
    /// A setting failed its validation, or the configuration binder could not convert it
    /// (<c>RAMCOIN_CPU_BURN_MS=abc</c>): exit code 2, in the binaries and the launcher alike, rather than 1 for the start.
    /// </summary>
    public static bool IsBadSetting(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is OptionsValidationException || OptionChecks.Unconvertible(e) is not null)
            {
                return true;
            }
        }

        return false;
    }

    private static string Usage(string service) =>
        $"""
        {service}: one RamCoin service, as it runs in its container.
        Usage: {service}                  serve on port {ContainerPort} (ASPNETCORE_HTTP_PORTS=8080 or --urls=http://+:8080 to change)
               {service} healthcheck [url] GET /healthz on the own port; exit 0 when healthy (for images without curl)
        Settings are environment variables (RAMCOIN_PROFILE=fast, and those of the README's settings table).
        """;
}
