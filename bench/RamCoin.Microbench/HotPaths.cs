using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using RamCoin.Hasher;
using RamCoin.Worker;

namespace RamCoin.Microbench;

/// <summary>
/// The per-hash work of the fast profile, each as shipped and as it was before (the baseline): random bytes,
/// SHA-256 to hex in the hasher, and the worker's check of the hasher's answer.
/// </summary>
[MemoryDiagnoser]
public class HotPaths
{
    private readonly byte[] _bytes = RandomNumberGenerator.GetBytes(32);
    private string _hex = "";

    [GlobalSetup]
    public void Setup() => _hex = Sha256Hex.Of(_bytes);

    [Benchmark(Description = "rng: 32 random bytes (array, as TypedResults.Bytes needs)")]
    public byte[] RandomBytes() => RandomNumberGenerator.GetBytes(32);

    [Benchmark(Baseline = true, Description = "hasher before: IncrementalHash per request, digest array")]
    public string HashIncremental()
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha256.AppendData(_bytes);
        return Convert.ToHexStringLower(sha256.GetHashAndReset());
    }

    [Benchmark(Description = "hasher now: one-shot SHA-256, digest on the stack")]
    public string HashOneShot() => Sha256Hex.Of(_bytes);

    [Benchmark(Description = "worker before: LINQ All(char.IsAsciiHexDigit)")]
    public bool CheckHexLinq() => _hex.Length == 64 && _hex.All(char.IsAsciiHexDigit);

    [Benchmark(Description = "worker now: SearchValues, vectorised")]
    public bool CheckHexSearchValues() => HasherClient.IsSha256Hex(_hex);
}
