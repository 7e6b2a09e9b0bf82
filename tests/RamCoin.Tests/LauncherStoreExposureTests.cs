namespace RamCoin.Tests;

/// <summary>
/// The launcher's store beyond loopback: refused without a password (exit code 2, before anything listens), allowed with
/// one or an explicit opt-out that is never silent. Each run that binds beyond loopback has a network namespace of its own.
/// </summary>
public sealed class LauncherStoreExposureTests
{
    [Theory]
    [InlineData("store --bind 0.0.0.0", "", "0.0.0.0")]
    [InlineData("store --bind ::", "", "::")]
    [InlineData("--bind 0.0.0.0", "", "0.0.0.0")] // all targets: refused before any service starts
    [InlineData("store --bind 0.0.0.0", "RAMCOIN_ALLOW_OPEN_STORE=false", "0.0.0.0")]
    [InlineData("store --bind 0.0.0.0", "REDIS_PASSWORD=", "0.0.0.0")]
    public async Task AStoreOpenBeyondLoopbackWithoutAPasswordIsRefusedWithExitCode2(string args, string environment, string bind)
    {
        LauncherProcess.RequireIsolation();
        var port = FreePort.Next();
        await using var run = LauncherProcess.StartIsolated([.. args.Split(' '), "--store-port", $"{port}", "--in-memory"], Variables(environment));

        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(20)), "ramcoin refuses at once, rather than running an open store");
        Assert.Equal(2, run.ExitCode);
        Assert.Equal(
            $"ramcoin: --bind / RAMCOIN_BIND: the store would listen on {bind}:{port} without a password, so anyone who reaches that port "
            + "could read and change the wallet. Set REDIS_PASSWORD (the worker and webui use it too), or allow it on a private network "
            + "with --allow-open-store / RAMCOIN_ALLOW_OPEN_STORE=true.",
            run.Error.Trim());
    }

    [Theory]
    [InlineData("", "REDIS_PASSWORD=s3cret-store-password", false)]
    [InlineData("--allow-open-store", "", true)]
    [InlineData("", "RAMCOIN_ALLOW_OPEN_STORE=true", true)]
    public async Task WithAPasswordOrAnExplicitOptOutTheStoreListensBeyondLoopback(string option, string environment, bool warns)
    {
        LauncherProcess.RequireIsolation();
        await using var run = LauncherProcess.StartIsolated(
            ["store", "--bind", "0.0.0.0", "--store-port", $"{FreePort.Next()}", "--in-memory", .. option.Split(' ', StringSplitOptions.RemoveEmptyEntries)],
            Variables(environment));

        await run.WaitForOutputAsync("RamCoin is running");
        // The opt-out is never silent: the store's log says who can reach the wallet.
        await Eventually.TrueAsync(() => !warns || run.Output.Contains("without a password (RAMCOIN_ALLOW_OPEN_STORE)", StringComparison.Ordinal), "the store warns");
        Assert.Equal(warns, run.Output.Contains("without a password", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnOptOutThatIsNotTrueOrFalseIsABadOption()
    {
        await using var run = LauncherProcess.Start(["store", "--store-port", $"{FreePort.Next()}", "--in-memory"], Variables("RAMCOIN_ALLOW_OPEN_STORE=yes"));

        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("ramcoin: RAMCOIN_ALLOW_OPEN_STORE must be true or false (it is 'yes').", run.Error.Trim());
    }

    [Theory]
    [InlineData("127.0.0.1", null, false, true)]
    [InlineData("::1", null, false, true)]
    [InlineData("127.0.0.2", null, false, true)]
    [InlineData("0.0.0.0", null, false, false)]
    [InlineData("10.1.2.3", "", false, false)]
    [InlineData("0.0.0.0", " ", false, false)] // blank is none
    [InlineData("0.0.0.0", "s3cret-store-password", false, true)]
    [InlineData("0.0.0.0", null, true, true)]
    public void TheEmbeddedStoreItselfRefusesToListenBeyondLoopbackWithoutAPassword(string bind, string? password, bool allowOpen, bool valid)
    {
        // The same rule when the store is hosted without the launcher's command line (tests, another host).
        var result = new RamCoin.Store.EmbeddedStoreOptionsValidator().Validate(
            null, new RamCoin.Store.EmbeddedStoreOptions { Bind = bind, Password = password, AllowOpen = allowOpen });

        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.StartsWith($"RAMCOIN_BIND: the store would listen on {bind}:6379 without a password", Assert.Single(result.Failures!), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("s3cret")]
    [InlineData("  fifteen-chars  \n")]
    public void AStorePasswordShorterThan16CharactersIsRefused(string password)
    {
        var result = new RamCoin.Store.EmbeddedStoreOptionsValidator().Validate(
            null, new RamCoin.Store.EmbeddedStoreOptions { Password = RamCoin.Store.EmbeddedStoreOptions.PasswordOf(password) });

        Assert.StartsWith("REDIS_PASSWORD must be at least 16 characters", Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    /// <summary>"A=1 B=2" as environment variables; "" for none.</summary>
    private static Dictionary<string, string> Variables(string text) =>
        text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => v.Split('=', 2)).ToDictionary(v => v[0], v => v[1]);
}
