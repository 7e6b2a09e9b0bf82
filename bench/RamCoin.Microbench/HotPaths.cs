using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using RamCoin.Hasher;
using RamCoin.Rng;
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
    private byte[] _answer = [];

    [GlobalSetup]
    public void Setup()
    {
        _hex = Sha256Hex.Of(_bytes);
        _answer = Encoding.ASCII.GetBytes(_hex);
    }

    [Benchmark(Description = "rng before: 32 random bytes from the OS's CSPRNG, one call each")]
    public byte[] RandomBytesEach() => RandomNumberGenerator.GetBytes(32);

    [Benchmark(Description = "rng now: 32 random bytes from a per-thread 4 KiB CSPRNG block")]
    public byte[] RandomBytesBuffered() => RandomBytes.Get(32);

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

    [Benchmark(Description = "worker before: answer decoded as a string, trimmed, checked, lowered")]
    public string AnswerViaString()
    {
        var hex = Encoding.UTF8.GetString(_answer).Trim();
        return HasherClient.IsSha256Hex(hex) ? hex.ToLowerInvariant() : "";
    }

    [Benchmark(Description = "worker now: answer bytes checked and turned into the digest once")]
    public string? AnswerFromBytes() => HasherClient.Sha256Hex(_answer);
}
