using System.Net.Sockets;
using System.Security.Cryptography;
using Xunit.Sdk;

namespace RamCoin.Tests;

/// <summary>The shared helpers' own promises: an assertion that cannot fail, or a retry that does not retry, hides bugs.</summary>
public sealed class TestRigTests
{
    [Fact]
    public void AnEmptyWalletDoesNotVerify() =>
        Assert.Throws<TrueException>(() => WalletAssert.AllVerify([]));

    [Fact]
    public void ACoinWhoseBytesDoNotHashToItsKeyDoesNotVerify()
    {
        var bytes = RandomNumberGenerator.GetBytes(32);
        var good = new HashEntry(Convert.ToHexStringLower(SHA256.HashData(bytes)), bytes);
        var forged = new HashEntry("0" + new string('a', 63), bytes);

        Assert.ThrowsAny<XunitException>(() => WalletAssert.AllVerify([good, forged], prefix: ""));
        WalletAssert.AllVerify([good], prefix: "");
    }

    [Fact]
    public async Task AServiceStartsOnAPortOnceItIsReleased()
    {
        var port = FreePort.Next();
        var holder = new TcpListener(IPAddress.Loopback, port);
        holder.Start();
        _ = Task.Delay(500, TestContext.Current.CancellationToken).ContinueWith(_ => holder.Stop(), TaskScheduler.Default);

        await using var rng = await ReleasedPort.StartAsync(() => RunningService.StartAsync(ServiceNames.Rng, port: port));

        Assert.Equal(port, rng.Address.Port);
        Assert.StartsWith("RNG running on", await rng.Client.GetStringAsync("/", TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }
}
