using System.Security.Cryptography;

namespace RamCoin.Hasher;

/// <summary>
/// SHA-256 as lowercase hex, the hasher's answer, without intermediate arrays: it runs once per hash, so the digest
/// lives on the stack and the only allocation is the answer's string.
/// </summary>
public static class Sha256Hex
{
    public static string Of(ReadOnlySpan<byte> data)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(data, digest);
        return Convert.ToHexStringLower(digest);
    }

    public static string Of(IncrementalHash hash)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        hash.GetHashAndReset(digest);
        return Convert.ToHexStringLower(digest);
    }
}
