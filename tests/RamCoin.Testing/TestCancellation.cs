namespace RamCoin.Tests.Infrastructure;

/// <summary>The running test's cancellation token; every test file sees <see cref="Ct"/> (a global static using).</summary>
public static class TestCancellation
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;
}
