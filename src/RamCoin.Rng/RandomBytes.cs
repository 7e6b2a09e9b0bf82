using System.Security.Cryptography;

namespace RamCoin.Rng;

/// <summary>
/// Random bytes from the OS's CSPRNG (through OpenSSL), drawn 4 KiB at a time per thread and handed out once each:
/// one native call per 128 answers of 32 bytes instead of one per answer. Served bytes are wiped from the block;
/// larger answers come from the CSPRNG directly. Hand-built because a native call per answer took 6 % of rng's
/// samples at the fast profile's rate, 0.6 % this way (docs/performance.md).
/// </summary>
public static class RandomBytes
{
    private const int BlockBytes = 4096;

    /// <summary>Answers up to this size come from the block; rng's 32 bytes by far the most often.</summary>
    public const int MaxBuffered = 256;

    [ThreadStatic]
    private static byte[]? t_block;

    [ThreadStatic]
    private static int t_left;

    public static byte[] Get(int count)
    {
        if (count > MaxBuffered)
        {
            return RandomNumberGenerator.GetBytes(count);
        }

        var block = t_block ??= new byte[BlockBytes];
        if (t_left < count)
        {
            RandomNumberGenerator.Fill(block);
            t_left = BlockBytes;
        }

        var taken = block.AsSpan(BlockBytes - t_left, count);
        var bytes = taken.ToArray();
        taken.Clear();
        t_left -= count;
        return bytes;
    }
}
