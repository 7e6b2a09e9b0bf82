namespace RamCoin.Tests.Infrastructure;

public static class Eventually
{
    /// <summary>Polls a condition until it holds; fails with the expectation after a bounded wait.</summary>
    public static async Task TrueAsync(Func<bool> condition, string expectation, int timeoutSeconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {timeoutSeconds} s waiting until {expectation}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    public static async Task TrueAsync(Func<Task<bool>> condition, string expectation, int timeoutSeconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out after {timeoutSeconds} s waiting until {expectation}");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }
}
