namespace RamCoin.Tests.Infrastructure;

/// <summary>Starts a server on a port that was just released (a store or a peer brought back where it was).</summary>
public static class ReleasedPort
{
    /// <summary>
    /// Retries for up to 2 s: the port may still be held for a moment (TIME_WAIT, a socket not closed yet); a
    /// failure that lasts is thrown as it is.
    /// </summary>
    public static async Task<T> StartAsync<T>(Func<Task<T>> start)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await start();
            }
            catch (Exception) when (attempt < 20)
            {
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }
        }
    }
}
