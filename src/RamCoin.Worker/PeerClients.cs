using System.Buffers;
using System.Net.Http.Headers;
using System.Text;
using Polly;

namespace RamCoin.Worker;

/// <summary>Calls rng: <c>GET /32</c> answers 32 random bytes.</summary>
public sealed class RngClient(PeerChannel peer, PeerTelemetry telemetry) : IDisposable
{
    /// <summary>The worker always asks for the same count: its URL is made once, not per call.</summary>
    private (int Count, Uri Uri) _last = (-1, peer.BaseAddress);

    public async Task<byte[]> GetBytesAsync(int count, CancellationToken cancellationToken)
    {
        var last = _last;
        if (last.Count != count)
        {
            _last = last = (count, new Uri(peer.BaseAddress, count.ToString(CultureInfo.InvariantCulture)));
        }

        var bytes = new byte[count];
        var started = telemetry.Begin();
        HttpResponseMessage? answered = null;
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            // Outcomes, not exceptions, through the pipeline: two async layers fewer per call than ExecuteAsync.
            var outcome = await peer.Pipeline.ExecuteOutcomeAsync(
                static (context, state) => AttemptAsync(state.peer, state.Uri, state.bytes, context.CancellationToken), context, (peer, last.Uri, bytes));
            outcome.ThrowIfException();
            using var response = outcome.Result!;
            response.EnsureSuccessStatusCode();
            answered = response;
            return bytes;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
            telemetry.End(started, answered);
        }
    }

    /// <summary>One try, its answer read inside it: the per-try timeout covers the body too, and a retry starts afresh.</summary>
    private static async ValueTask<Outcome<HttpResponseMessage>> AttemptAsync(PeerChannel peer, Uri uri, byte[] bytes, CancellationToken cancellationToken)
    {
        HttpResponseMessage? response = null;
        try
        {
            response = await peer.SendAsync(HttpMethod.Get, uri, null, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                // The pipeline decides: retried, counted by the circuit breaker, or thrown by the caller.
                return Outcome.FromResult(response);
            }

            // One byte more than asked tells an answer of the right length from a longer one.
            var buffer = ArrayPool<byte>.Shared.Rent(bytes.Length + 1);
            try
            {
                var length = await PeerChannel.ReadBodyAsync(response.Content, buffer.AsMemory(0, bytes.Length + 1), cancellationToken);
                if (length != bytes.Length)
                {
                    throw new InvalidDataException($"rng answered {length} bytes instead of {bytes.Length}.");
                }

                buffer.AsSpan(0, bytes.Length).CopyTo(bytes);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            return Outcome.FromResult(response);
        }
        catch (Exception ex)
        {
            response?.Dispose();
            return Outcome.FromException<HttpResponseMessage>(ex);
        }
    }

    public void Dispose() => peer.Dispose();
}

/// <summary>Calls hasher: <c>POST /</c> with the bytes answers their SHA-256 as lowercase hex.</summary>
public sealed class HasherClient(PeerChannel peer, PeerTelemetry telemetry) : IDisposable
{
    /// <summary>What hasher may answer: 64 hex digits, perhaps with a newline or a byte-order mark; anything longer is refused.</summary>
    private const int MaxAnswerBytes = 128;

    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");
    private static readonly ResiliencePropertyKey<string> Answer = new("ramcoin.hash");
    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");
    private static readonly SearchValues<byte> UpperHex = SearchValues.Create("ABCDEF"u8);

    public async Task<string> HashAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        var started = telemetry.Begin();
        HttpResponseMessage? answered = null;
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            var outcome = await peer.Pipeline.ExecuteOutcomeAsync(static (context, state) => AttemptAsync(state.peer, state.bytes, context), context, (peer, bytes));
            outcome.ThrowIfException();
            using var response = outcome.Result!;
            response.EnsureSuccessStatusCode();
            answered = response;
            return context.Properties.GetValue(Answer, "");
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
            telemetry.End(started, answered);
        }
    }

    private static async ValueTask<Outcome<HttpResponseMessage>> AttemptAsync(PeerChannel peer, byte[] bytes, ResilienceContext context)
    {
        HttpResponseMessage? response = null;
        try
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = OctetStream;
            response = await peer.SendAsync(HttpMethod.Post, peer.BaseAddress, content, context.CancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return Outcome.FromResult(response);
            }

            var buffer = ArrayPool<byte>.Shared.Rent(MaxAnswerBytes + 1);
            try
            {
                var length = await PeerChannel.ReadBodyAsync(response.Content, buffer.AsMemory(0, MaxAnswerBytes + 1), context.CancellationToken);
                var hex = length <= MaxAnswerBytes ? Sha256Hex(buffer.AsSpan(0, (int)length)) : null;
                context.Properties.Set(Answer, hex ?? throw new InvalidDataException("hasher answered something that is not a SHA-256 hex digest."));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            return Outcome.FromResult(response);
        }
        catch (Exception ex)
        {
            response?.Dispose();
            return Outcome.FromException<HttpResponseMessage>(ex);
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

    public void Dispose() => peer.Dispose();
}
