namespace RamCoin.Worker;

/// <summary>
/// Reads a peer's successful answer into memory inside the try that got it, at most <paramref name="maxAnswerBytes"/>:
/// the resilience handler's per-try timeout then covers a body that stalls (a retry starts afresh), and a peer that
/// answers megabytes is refused after that many bytes instead of filling the worker's memory.
/// </summary>
/// <remarks>
/// The innermost handler of a peer client (<see cref="PeerHttpClients"/>). An error answer is left unread: the
/// pipeline retries or counts it by its status, and its body is dropped with it.
/// </remarks>
public sealed class BoundedAnswerHandler(string peer, int maxAnswerBytes) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            return response;
        }

        try
        {
            await response.Content.LoadIntoBufferAsync(maxAnswerBytes, cancellationToken);
            return response;
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ConfigurationLimitExceeded)
        {
            response.Dispose();
            // A bad answer, not a transient failure: not retried, and the loop counts it as one (bad_answer).
            throw new InvalidDataException($"{peer} answered more than {maxAnswerBytes} bytes.", ex);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
