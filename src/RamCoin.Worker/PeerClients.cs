using System.Net.Http.Headers;

namespace RamCoin.Worker;

/// <summary>Calls rng: <c>GET /32</c> answers 32 random bytes.</summary>
public sealed class RngClient(HttpClient http)
{
    public async Task<byte[]> GetBytesAsync(int count, CancellationToken cancellationToken)
    {
        var bytes = await http.GetByteArrayAsync(count.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken);
        return bytes.Length == count
            ? bytes
            : throw new InvalidDataException($"rng answered {bytes.Length} bytes instead of {count}.");
    }
}

/// <summary>Calls hasher: <c>POST /</c> with the bytes answers their SHA-256 as lowercase hex.</summary>
public sealed class HasherClient(HttpClient http)
{
    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");

    public async Task<string> HashAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = OctetStream;
        using var response = await http.PostAsync("", content, cancellationToken);
        response.EnsureSuccessStatusCode();
        var hex = (await response.Content.ReadAsStringAsync(cancellationToken)).Trim();
        return IsSha256Hex(hex)
            ? hex.ToLowerInvariant()
            : throw new InvalidDataException("hasher answered something that is not a SHA-256 hex digest.");
    }

    private static bool IsSha256Hex(string value) => value.Length == 64 && value.All(char.IsAsciiHexDigit);
}
