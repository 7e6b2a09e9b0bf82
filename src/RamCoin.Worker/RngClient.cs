namespace RamCoin.Worker;

/// <summary>Calls rng: <c>GET /32</c> answers 32 random bytes. A typed client of the client factory (<see cref="PeerHttpClients"/>).</summary>
public sealed class RngClient(HttpClient http, WorkerTelemetry telemetry)
{
    /// <summary>Cancels the calls in flight: the worker stops (its calls pass no token, which would cost a linked source per call).</summary>
    public void CancelPending() => http.CancelPendingRequests();

    /// <summary>The longest answer read (<see cref="BoundedAnswerHandler"/>); the worker asks for 32 bytes.</summary>
    public const int MaxAnswerBytes = 1024;

    /// <summary>The worker always asks for the same count: its URL is made once, not per call.</summary>
    private (int Count, Uri? Uri) _last = (-1, null);

    public async Task<byte[]> GetBytesAsync(int count, CancellationToken cancellationToken)
    {
        var last = _last;
        if (last.Count != count)
        {
            _last = last = (count, new Uri(http.BaseAddress!, count.ToString(CultureInfo.InvariantCulture)));
        }

        var peer = telemetry.Rng;
        var started = peer.Begin();
        HttpResponseMessage? answered = null;
        try
        {
            // Headers first: the answer was already read, bounded, inside the try that got it (BoundedAnswerHandler).
            using var response = await http.GetAsync(last.Uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
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
            peer.End(started, answered);
        }
    }
}
