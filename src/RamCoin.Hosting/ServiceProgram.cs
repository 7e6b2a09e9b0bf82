using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;

namespace RamCoin.Hosting;

/// <summary>
/// What a service's own binary (the Native AOT program in its container image) does around its pipeline: answers
/// <c>healthcheck</c> and <c>--help</c>, and runs until SIGTERM with an exit code that says how it ended.
/// </summary>
public static class ServiceProgram
{
    /// <summary>
    /// Begins the program: answers <c>healthcheck [url]</c> (images without curl use it as their health check) and
    /// <c>--help</c> without starting the service (their exit code); otherwise null, and from then on a bad setting found
    /// before the service starts (its options read while endpoints are mapped) ends the process as
    /// <see cref="RunServiceAsync"/> does: exit code 2 and one line that names the variable.
    /// </summary>
    public static async Task<int?> BeginAsync(string service, string[] args)
    {
        if (args is ["healthcheck", .. var rest])
        {
            var variables = new ConfigurationBuilder().AddEnvironmentVariables("DOTNET_").AddEnvironmentVariables("ASPNETCORE_").Build();
            return await HealthCheckAsync(service, rest, variables);
        }

        if (args is ["--help" or "-h" or "-?", ..])
        {
            Console.Out.WriteLine(Usage(service));
            return 0;
        }

        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            if (e.ExceptionObject is Exception ex && IsBadSetting(ex))
            {
                Environment.Exit(ReportStartFailure(service, ex));
            }
        };
        return null;
    }

    /// <summary>
    /// The builder of a service's own binary, after <see cref="BeginAsync"/>: a command the binary answers without
    /// starting the service ends the process here, with its exit code, so that Program.cs shows only the pipeline.
    /// </summary>
    public static async Task<WebApplicationBuilder> CreateBuilderAsync(string service, string[] args)
    {
        if (await BeginAsync(service, args) is int answered)
        {
            Environment.Exit(answered);
        }

        return WebApplication.CreateSlimBuilder(args);
    }

    /// <summary>
    /// Starts the service and waits for SIGTERM or Ctrl-C (the worker flushes). Exit code 2 for a bad setting (one line
    /// that names it), 1 for a failed start or stop or a background part that failed, or a deliberate stop's own code.
    /// </summary>
    public static async Task<int> RunServiceAsync(this WebApplication app)
    {
        var service = app.Services.GetRequiredService<ServiceIdentity>().Service;
        try
        {
            await app.StartAsync();
        }
        catch (Exception ex)
        {
            return ReportStartFailure(service, ex);
        }

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
        var deliberate = app.Services.GetServices<DeliberateStop>().Select(s => (s.Message, Code: s.ExitCode())).FirstOrDefault(s => s.Code is not null);
        await app.DisposeAsync();
        if (deliberate.Code is int code)
        {
            Console.Error.WriteLine($"{service}: {deliberate.Message}");
            return code;
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

    /// <summary>One line on standard error that says why; exit code 2 for a bad setting, else 1.</summary>
    private static int ReportStartFailure(string service, Exception ex)
    {
        var reason = Explain(ex, "its port is already in use (set ASPNETCORE_HTTP_PORTS or --urls).", e =>
            e is SocketException { SocketErrorCode: SocketError.AccessDenied }
                ? $"no permission to listen on port {ServiceDefaults.ContainerPort} (run as root, allow unprivileged ports, or set ASPNETCORE_HTTP_PORTS)."
                : null);
        Console.Error.WriteLine($"{service}: did not start: {reason}");
        return IsBadSetting(ex) ? 2 : 1;
    }

    /// <summary>The name of a background service that ended with an exception (which stops the host), if any.</summary>
    public static string? FaultedBackgroundService(IServiceProvider services) =>
        services.GetServices<IHostedService>()
            .OfType<BackgroundService>()
            .FirstOrDefault(s => s.ExecuteTask is { IsFaulted: true })?.GetType().Name;

    /// <summary>GET /healthz on this container's own port, exit 0 on 200 and 1 otherwise, within 3 seconds.</summary>
    /// <param name="aspNet">ASP.NET's settings (ASPNETCORE_ and DOTNET_ variables without their prefix).</param>
    public static async Task<int> HealthCheckAsync(string service, IReadOnlyList<string> args, IConfiguration aspNet)
    {
        var url = args.Count > 0 ? args[0] : $"http://127.0.0.1:{OwnPort(aspNet)}/healthz";
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

    /// <summary>The port this service listens on in its container: the first of HTTP_PORTS or URLS, else 80.</summary>
    public static int OwnPort(IConfiguration aspNet)
    {
        var ports = aspNet[WebHostDefaults.HttpPortsKey];
        if (!string.IsNullOrWhiteSpace(ports) && int.TryParse(ports.Split(';', ',')[0].Trim(), out var port))
        {
            return port;
        }

        var urls = aspNet[WebHostDefaults.ServerUrlsKey];
        if (!string.IsNullOrWhiteSpace(urls))
        {
            var first = urls.Split(';')[0].Trim().Replace("://+", "://localhost", StringComparison.Ordinal)
                .Replace("://*", "://localhost", StringComparison.Ordinal);
            if (Uri.TryCreate(first, UriKind.Absolute, out var uri))
            {
                return uri.Port;
            }
        }

        return ServiceDefaults.ContainerPort;
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
        Usage: {service}                  serve on port {ServiceDefaults.ContainerPort} (ASPNETCORE_HTTP_PORTS=8080 or --urls=http://+:8080 to change)
               {service} healthcheck [url] GET /healthz on the own port; exit 0 when healthy (for images without curl)
        Settings are environment variables (RAMCOIN_PROFILE=fast, and those of the README's settings table).
        """;
}
