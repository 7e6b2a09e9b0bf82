using System.Buffers;
using System.Security.Cryptography;

namespace RamCoin.Hasher;

public static class HasherApi
{
    public static WebApplicationBuilder AddHasher(this WebApplicationBuilder builder)
    {
        builder.AddServiceOptions<HasherOptions, HasherOptionsValidator>(HasherOptions.Fast, (c, o) => c.Bind(o));
        builder.Services.AddSingleton<HasherMetrics>();
        // Concurrent: no limit, so no concurrency header.
        builder.Services.AddServiceCapacity<HasherOptions>(_ => null, o => o.DelayMs);
        return builder;
    }

    public static RouteGroupBuilder MapHasherApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapApiGroup(ServiceNames.Hasher);
        group.MapPost("/", HashBodyAsync)
            .WithName("HashBody").WithSummary("Lowercase SHA-256 hex of the body (any content type, at most 1 MiB), no newline, after HASHER_DELAY_MS")
            .Produces(StatusCodes.Status200OK, contentType: "text/plain").ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status408RequestTimeout).ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        return group;
    }

    private static async Task<IResult> HashBodyAsync(
        HttpRequest request, HasherMetrics metrics, IOptionsMonitor<HasherOptions> options, CancellationToken cancellationToken)
    {
        metrics.Active.Add(1);
        try
        {
            return await HashAsync(request, metrics, options.CurrentValue, cancellationToken);
        }
        finally
        {
            metrics.Active.Add(-1);
        }
    }

    private static async Task<IResult> HashAsync(HttpRequest request, HasherMetrics metrics, HasherOptions options, CancellationToken cancellationToken)
    {
        if (request.ContentLength > RequestLimits.MaxDrainedBodyBytes)
        {
            // Too big even to drain: answer at once; the connection closes after it.
            return TooLarge();
        }

        // Read the stream whatever its framing: Content-Length, chunked, any content type. A body that fits the
        // first buffer (DockerCoins' 32 bytes) is hashed in one call; longer ones incrementally.
        string hex;
        IncrementalHash? incremental = null;
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            long total = 0;
            var buffered = 0;
            int read;
            while ((read = await request.Body.ReadAsync(buffer.AsMemory(buffered), cancellationToken)) > 0)
            {
                total += read;
                buffered += read;
                if (buffered < buffer.Length)
                {
                    continue;
                }

                incremental ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                if (total <= HasherOptions.MaxBodyBytes)
                {
                    incremental.AppendData(buffer, 0, buffered);
                }

                buffered = 0;
            }

            if (total > HasherOptions.MaxBodyBytes)
            {
                return TooLarge();
            }

            if (incremental is null)
            {
                hex = Sha256Hex.Of(buffer.AsSpan(0, buffered));
            }
            else
            {
                incremental.AppendData(buffer, 0, buffered);
                hex = Sha256Hex.Of(incremental);
            }

            metrics.Bytes.Add(total);
        }
        catch (BadHttpRequestException ex)
        {
            // A body that breaks the protocol or trickles in too slowly: the client's fault, said as such.
            return ServiceHost.Problem(ex.StatusCode, "Bad request body", ex.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            incremental?.Dispose();
        }

        var delay = options.DelayMs;
        if (delay > 0)
        {
            await Task.Delay(delay, cancellationToken);
        }

        // Lowercase hex, no newline: the exact answer of DockerCoins' hasher.
        return TypedResults.Text(hex, "text/plain");
    }

    private static IResult TooLarge() => ServiceHost.Problem(
        StatusCodes.Status413PayloadTooLarge,
        "Body too large",
        $"hasher hashes bodies of at most {HasherOptions.MaxBodyBytes} bytes.");
}
