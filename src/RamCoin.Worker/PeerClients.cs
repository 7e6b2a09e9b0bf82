using System.Buffers;
using System.Net.Http.Headers;

namespace RamCoin.Worker;

/// <summary>Calls rng: <c>GET /32</c> answers 32 random bytes.</summary>
public sealed class RngClient(HttpClient http, WorkerTelemetry telemetry)
{
    private PeerTelemetry Telemetry => telemetry.Rng;

    public async Task<byte[]> GetBytesAsync(int count, CancellationToken cancellationToken)
    {
        var started = Telemetry.Begin();
        HttpResponseMessage? answered = null;
        try
        {
            using var response = await http.GetAsync(count.ToString(CultureInfo.InvariantCulture), cancellationToken);
            response.EnsureSuccessStatusCode();
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (bytes.Length != count)
            {
                throw new InvalidDataException($"rng answered {bytes.Length} bytes instead of {count}.");
            }

            answered = response;
            return bytes;
        }
        finally
        {
            Telemetry.End(started, answered);
        }
    }
}

/// <summary>Calls hasher: <c>POST /</c> with the bytes answers their SHA-256 as lowercase hex.</summary>
public sealed class HasherClient(HttpClient http, WorkerTelemetry telemetry)
{
    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");

    private PeerTelemetry Telemetry => telemetry.Hasher;

    public async Task<string> HashAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        var started = Telemetry.Begin();
        HttpResponseMessage? answered = null;
        try
        {
            using var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = OctetStream;
            using var response = await http.PostAsync("", content, cancellationToken);
            response.EnsureSuccessStatusCode();
            var hex = (await response.Content.ReadAsStringAsync(cancellationToken)).Trim();
            if (!IsSha256Hex(hex))
            {
                throw new InvalidDataException("hasher answered something that is not a SHA-256 hex digest.");
            }

            answered = response;
            return hex.ToLowerInvariant();
        }
        finally
        {
            Telemetry.End(started, answered);
        }
    }

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>64 hex digits: vectorised, no delegate per character (it runs for every hash).</summary>
    public static bool IsSha256Hex(string value) => value.Length == 64 && !value.AsSpan().ContainsAnyExcept(HexDigits);
}
