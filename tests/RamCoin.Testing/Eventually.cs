namespace RamCoin.Tests.Infrastructure;

public static class Eventually
{
    /// <summary>Polls a condition until it holds; fails with the expectation after a bounded wait.</summary>
    /// <param name="explain">What to show with the failure (a service's log).</param>
    public static async Task TrueAsync(Func<bool> condition, string expectation, int timeoutSeconds = 20, Func<string>? explain = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                Assert.Fail($"timed out after {timeoutSeconds} s waiting until {expectation}{(explain is null ? "" : "\n" + explain())}");
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    public static async Task TrueAsync(Func<Task<bool>> condition, string expectation, int timeoutSeconds = 20, Func<string>? explain = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!await condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                Assert.Fail($"timed out after {timeoutSeconds} s waiting until {expectation}{(explain is null ? "" : "\n" + explain())}");
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
