using System.Buffers;
using System.Net.Http.Headers;
using System.Text;

namespace RamCoin.Worker;

/// <summary>Calls rng: <c>GET /32</c> answers 32 random bytes.</summary>
public sealed class RngClient(PeerChannel peer, PeerTelemetry telemetry) : IDisposable
{
    /// <summary>The worker always asks for the same count: its URL is made once, not per call.</summary>
    private (int Count, Uri Uri) _last = (-1, peer.BaseAddress);

    public Task<byte[]> GetBytesAsync(int count, CancellationToken cancellationToken)
    {
        var last = _last;
        if (last.Count != count)
        {
            _last = last = (count, new Uri(peer.BaseAddress, count.ToString(CultureInfo.InvariantCulture)));
        }

        return peer.CallAsync(telemetry, HttpMethod.Get, last.Uri, null, count, count, ReadBytes, cancellationToken);
    }

    private static byte[] ReadBytes(ReadOnlySpan<byte> answer, long length, int count) =>
        length == count ? answer.ToArray() : throw new InvalidDataException($"rng answered {length} bytes instead of {count}.");

    public void Dispose() => peer.Dispose();
}

/// <summary>Calls hasher: <c>POST /</c> with the bytes answers their SHA-256 as lowercase hex.</summary>
public sealed class HasherClient(PeerChannel peer, PeerTelemetry telemetry) : IDisposable
{
    /// <summary>What hasher may answer: 64 hex digits, perhaps with a newline or a byte-order mark; anything longer is refused.</summary>
    public const int MaxAnswerBytes = 128;

    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");
    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");
    private static readonly SearchValues<byte> UpperHex = SearchValues.Create("ABCDEF"u8);

    public Task<string> HashAsync(byte[] bytes, CancellationToken cancellationToken) =>
        peer.CallAsync(telemetry, HttpMethod.Post, peer.BaseAddress, Content, MaxAnswerBytes, bytes, ReadHash, cancellationToken);

    private static HttpContent Content(byte[] bytes) => new ByteArrayContent(bytes) { Headers = { ContentType = OctetStream } };

    private static string ReadHash(ReadOnlySpan<byte> answer, long length, byte[] _) =>
        (length <= MaxAnswerBytes ? Sha256Hex(answer) : null)
        ?? throw new InvalidDataException("hasher answered something that is not a SHA-256 hex digest.");

    /// <summary>
    /// The lowercase digest in an answer (UTF-8, around it whitespace or a byte-order mark, as a text answer may
    /// have), or null when it is not 64 hex digits.
    /// </summary>
    public static string? Sha256Hex(ReadOnlySpan<byte> answer)
    {
        if (answer.StartsWith("\uFEFF"u8))
        {
            answer = answer[3..];
        }

        answer = answer.Trim(" \t\r\n\v\f"u8);
        if (answer.Length != 64 || !Ascii.IsValid(answer))
        {
            return null;
        }

        Span<char> hex = stackalloc char[64];
        Ascii.ToUtf16(answer, hex, out _);
        if (!IsSha256Hex(hex))
        {
            return null;
        }

        if (answer.ContainsAny(UpperHex))
        {
            Ascii.ToLowerInPlace(hex, out _);
        }

        return new string(hex);
    }

    /// <summary>64 hex digits: vectorised, no delegate per character (it runs for every hash).</summary>
    public static bool IsSha256Hex(ReadOnlySpan<char> value) => value.Length == 64 && !value.ContainsAnyExcept(HexDigits);

    public void Dispose() => peer.Dispose();
}
