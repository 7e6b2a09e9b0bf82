using System.Security.Cryptography;

namespace RamCoin.Rng;

/// <summary>
/// A large answer of random bytes, drawn and sent a chunk at a time: each chunk waits for the connection to take the
/// previous ones (Kestrel holds at most its response buffer, 64 KiB, unsent), so a client that does not read holds
/// that much of rng's memory, not the whole answer and its copy.
/// </summary>
public sealed class RandomBytesResult(int count) : IResult
{
    /// <summary>Answers up to this size are drawn whole (the worker's 32 bytes); larger ones are streamed.</summary>
    public const int ChunkBytes = 16 * 1024;

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.ContentType = "application/octet-stream";
        response.ContentLength = count;
        var writer = response.BodyWriter;
        for (var left = count; left > 0;)
        {
            var size = Math.Min(left, ChunkBytes);
            RandomNumberGenerator.Fill(writer.GetSpan(size)[..size]);
            writer.Advance(size);
            left -= size;
            var flushed = await writer.FlushAsync(httpContext.RequestAborted);
            if (flushed.IsCompleted || flushed.IsCanceled)
            {
                return;
            }
        }
    }
}
