using System.Buffers;
using System.Net.Http.Headers;
using System.Text;

namespace RamCoin.Worker;

/// <summary>
/// Calls hasher: <c>POST /</c> with the bytes answers their SHA-256 as lowercase hex. A typed client of the client
/// factory (<see cref="PeerHttpClients"/>).
/// </summary>
public sealed class HasherClient(HttpClient http, WorkerTelemetry telemetry)
{
    /// <summary>What hasher may answer: 64 hex digits, perhaps with a newline or a byte-order mark; anything longer is refused.</summary>
    public const int MaxAnswerBytes = 128;

    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");
    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");
    private static readonly SearchValues<byte> UpperHex = SearchValues.Create("ABCDEF"u8);

    /// <summary>Cancels the calls in flight: the worker stops (its calls pass no token, which would cost a linked source per call).</summary>
    public void CancelPending() => http.CancelPendingRequests();

    public async Task<string> HashAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        var peer = telemetry.Hasher;
        var started = peer.Begin();
        HttpResponseMessage? answered = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, http.BaseAddress)
            {
                // What PostAsync would take from the client (h2c or HTTP/1.1), with headers-first completion below.
                Version = http.DefaultRequestVersion,
                VersionPolicy = http.DefaultVersionPolicy,
                Content = new ByteArrayContent(bytes) { Headers = { ContentType = OctetStream } },
            };
            // Headers first: the answer was already read, bounded, inside the try that got it (BoundedAnswerHandler).
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            response.EnsureSuccessStatusCode();
            var hash = Sha256Hex(await response.Content.ReadAsByteArrayAsync(cancellationToken))
                ?? throw new InvalidDataException("hasher answered something that is not a SHA-256 hex digest.");
            answered = response;
            return hash;
        }
        finally
        {
            peer.End(started, answered);
        }
    }

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
}
