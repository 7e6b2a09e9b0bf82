using System.Net.Sockets;

namespace RamCoin.Tests;

/// <summary>
/// The store's own program (RamCoin.Store.dll, what its image runs) as a process: it serves RESP with its password,
/// answers its health check by a PING on its own port, and stops on SIGTERM with exit code 0.
/// </summary>
public sealed class StoreProgramTests
{
    private const string Password = "s3cret-store-password";

    private static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    private static string Program => Path.Combine(AppContext.BaseDirectory, "RamCoin.Store.dll");

    [Fact]
    public async Task TheStoresOwnProgramServesRespAndAnswersItsHealthCheck()
    {
        var port = FreePort.Next();
        var environment = new Dictionary<string, string?>
        {
            ["RAMCOIN_STORE_PORT"] = port.ToString(CultureInfo.InvariantCulture),
            ["RAMCOIN_DATA_DIR"] = "",
            ["REDIS_PASSWORD"] = Password,
        };
        await using var store = LauncherProcess.StartProgram(Dotnet, [Program], environment.ToDictionary(p => p.Key, p => p.Value ?? ""), "RamCoin.Store");

        RespConnection? resp = null;
        await Eventually.TrueAsync(async () => (resp = await TryConnectAsync(port)) is not null || store.HasExited, "the store listens", 30);
        Assert.False(store.HasExited, store.Error);
        using (resp)
        {
            Assert.StartsWith("-NOAUTH", await resp!.CommandAsync("GET", "hashes"), StringComparison.Ordinal);
            Assert.Equal("+OK", await resp.CommandAsync("AUTH", Password));
            Assert.Equal("+OK", await resp.CommandAsync("SET", "hashes", "42"));
            Assert.Equal("42", await resp.CommandAsync("GET", "hashes"));
        }

        var healthy = await Repo.RunAsync(Dotnet, [Program, "healthcheck"], environment, timeoutSeconds: 30);
        Assert.True(healthy.ExitCode == 0, healthy.Describe());
        Assert.Contains($"127.0.0.1:{port} answered PONG", healthy.Output, StringComparison.Ordinal);

        var wrongPassword = await Repo.RunAsync(Dotnet, [Program, "healthcheck"], new Dictionary<string, string?>(environment) { ["REDIS_PASSWORD"] = "not-the-store-password" }, timeoutSeconds: 30);
        Assert.True(wrongPassword.ExitCode == 1, wrongPassword.Describe());

        store.Terminate();
        Assert.True(await store.WaitForExitAsync(TimeSpan.FromSeconds(15)), "the store stops on SIGTERM");
        Assert.Equal(0, store.ExitCode);

        var stopped = await Repo.RunAsync(Dotnet, [Program, "healthcheck"], environment, timeoutSeconds: 30);
        Assert.True(stopped.ExitCode == 1, stopped.Describe());
        Assert.Contains("did not answer", stopped.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ItsHelpSaysHowToRunItAndItsHealthCheckRefusesABadPort()
    {
        var help = await Repo.RunAsync(Dotnet, [Program, "--help"], timeoutSeconds: 30);
        Assert.True(help.ExitCode == 0, help.Describe());
        Assert.Contains("RamCoin.Store healthcheck", help.Output, StringComparison.Ordinal);

        var bad = await Repo.RunAsync(Dotnet, [Program, "healthcheck"], new Dictionary<string, string?> { ["RAMCOIN_STORE_PORT"] = "0" }, timeoutSeconds: 30);
        Assert.True(bad.ExitCode == 2, bad.Describe());
        Assert.Equal("store healthcheck: RAMCOIN_STORE_PORT must be a port from 1 to 65535 (it is '0').", bad.Error.Trim());
    }

    /// <summary>A connection the store answers: its socket may listen a moment before its Garnet takes clients (it closes those).</summary>
    private static async Task<RespConnection?> TryConnectAsync(int port)
    {
        RespConnection? resp = null;
        try
        {
            resp = await RespConnection.ConnectAsync(port);
            await resp.CommandAsync("PING");
            return resp;
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            resp?.Dispose();
            return null;
        }
    }
}
