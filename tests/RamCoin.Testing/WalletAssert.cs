using System.Security.Cryptography;

namespace RamCoin.Tests.Infrastructure;

public static class WalletAssert
{
    /// <summary>
    /// Every coin checks out: 32 bytes whose SHA-256 is the key, and the key has the difficulty prefix. An empty
    /// wallet fails: a check of no coin proves nothing (mine at DockerCoins' difficulty 0 to find some in seconds).
    /// </summary>
    public static void AllVerify(HashEntry[] wallet, string prefix = "0")
    {
        Assert.True(wallet.Length > 0, "the wallet holds no coin to verify");
        Assert.All(wallet, coin =>
        {
            var bytes = (byte[])coin.Value!;
            Assert.Equal(32, bytes.Length);
            Assert.Equal(coin.Name.ToString(), Convert.ToHexStringLower(SHA256.HashData(bytes)));
            Assert.StartsWith(prefix, coin.Name.ToString(), StringComparison.Ordinal);
        });
    }
}
