using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RamCoin.Store;

/// <summary>
/// What the store's own program does around its pipeline, as <see cref="ServiceProgram"/> does for the HTTP services:
/// answers <c>healthcheck</c> and <c>--help</c>, and runs until SIGTERM with an exit code that says how it ended.
/// </summary>
public static class StoreProgram
{
    /// <summary>The longest reply line the health check reads: PONG, OK or an error line, never a value.</summary>
    private const int MaxReplyBytes = 512;

    /// <summary>Answers <c>healthcheck</c> and <c>--help</c> without starting the store (their exit code); otherwise null.</summary>
    public static async Task<int?> BeginAsync(string[] args)
    {
        if (args is ["healthcheck", ..])
        {
            return await HealthCheckAsync(new ConfigurationBuilder().AddEnvironmentVariables().Build(), Console.Out, Console.Error);
        }

        if (args is ["--help" or "-h" or "-?", ..])
        {
            Console.Out.WriteLine(Usage);
            return 0;
        }

        return null;
    }

    /// <summary>
    /// Starts the store and waits for SIGTERM or Ctrl-C. Exit code 2 for a bad setting (one line that names it), 1 for
    /// a failed start or a part that failed, else 0.
    /// </summary>
    public static async Task<int> RunStoreAsync(this IHost host)
    {
        try
        {
            await host.StartAsync();
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"{ServiceNames.Store}: did not start: {Explain(ex)}");
            return ServiceProgram.IsBadSetting(ex) ? 2 : 1;
        }

        await host.WaitForShutdownAsync();
        if (ServiceProgram.FaultedBackgroundService(host.Services) is { } faulted)
        {
            Console.Error.WriteLine($"{ServiceNames.Store}: stopped because {faulted} failed.");
            return 1;
        }

        return 0;
    }

    /// <summary>
    /// PING (after AUTH with REDIS_PASSWORD, if set) on the store's own port, from the same settings the store reads:
    /// exit 0 on PONG within 3 seconds, 1 otherwise, 2 for a bad setting (images without redis-cli use it).
    /// </summary>
    public static async Task<int> HealthCheckAsync(IConfiguration configuration, TextWriter output, TextWriter error)
    {
        var failures = new List<string>();
        var options = EmbeddedStoreOptions.From(configuration, failures);
        if (failures.Count > 0)
        {
            error.WriteLine($"{ServiceNames.Store} healthcheck: {string.Join(" ", failures)}");
            return 2;
        }

        var address = IPAddress.Parse(options.Bind);
        address = address.Equals(IPAddress.Any) ? IPAddress.Loopback : address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : address;
        var endPoint = new IPEndPoint(address, options.Port);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            using var client = new TcpClient(address.AddressFamily);
            await client.ConnectAsync(endPoint, timeout.Token);
            var stream = client.GetStream();
            var request = options.Password is { } password ? Command("AUTH", password) + Command("PING") : Command("PING");
            await stream.WriteAsync(Encoding.UTF8.GetBytes(request), timeout.Token);
            var reply = options.Password is null ? "" : await ReadReplyAsync(stream, timeout.Token);
            if (options.Password is null || reply == "+OK")
            {
                reply = await ReadReplyAsync(stream, timeout.Token);
            }

            if (reply == "+PONG")
            {
                output.WriteLine($"{ServiceNames.Store} healthcheck: {endPoint} answered PONG.");
                return 0;
            }

            error.WriteLine($"{ServiceNames.Store} healthcheck: {endPoint} answered '{reply}', not PONG.");
            return 1;
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            error.WriteLine($"{ServiceNames.Store} healthcheck: {endPoint} did not answer: {ex.Message}");
            return 1;
        }
    }

    /// <summary>The launcher's and the program's reason alike, with the store's own variables to change.</summary>
    public static string Explain(Exception ex, string? portInUse = null) => ServiceProgram.Explain(
        ex,
        portInUse ?? $"its port is already in use (choose another with {EmbeddedStoreOptions.PortSetting}).",
        e => e is InvalidOperationException && e.Message.Contains("data directory", StringComparison.Ordinal)
            ? e.Message + $" (choose another with {EmbeddedStoreOptions.DataDirSetting})."
            : null);

    private static string Command(params string[] words) =>
        $"*{words.Length}\r\n" + string.Concat(words.Select(w => $"${Encoding.UTF8.GetByteCount(w)}\r\n{w}\r\n"));

    /// <summary>One reply line, without its CRLF; at most <see cref="MaxReplyBytes"/>, whatever the other end sends.</summary>
    private static async Task<string> ReadReplyAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (line.Count < MaxReplyBytes && await stream.ReadAsync(one, cancellationToken) == 1)
        {
            if (one[0] == '\n')
            {
                break;
            }

            line.Add(one[0]);
        }

        return Encoding.UTF8.GetString([.. line]).TrimEnd('\r');
    }

    private static string Usage =>
        $"""
        {ServiceNames.Store}: RamCoin's store (an embedded Garnet, RESP), as it runs in its container.
        Usage: RamCoin.Store              serve RESP on {EmbeddedStoreOptions.PortSetting} (default 6379) at {EmbeddedStoreOptions.BindSetting} (default 127.0.0.1)
               RamCoin.Store healthcheck  PING the own port (AUTH with {EmbeddedStoreOptions.PasswordSetting}); exit 0 on PONG
        Settings are environment variables: {EmbeddedStoreOptions.DataDirSetting} (empty: in memory), {EmbeddedStoreOptions.PasswordSetting},
        {EmbeddedStoreOptions.AllowOpenSetting}=true (no password beyond loopback); see docs/settings.md.
        """;
}
