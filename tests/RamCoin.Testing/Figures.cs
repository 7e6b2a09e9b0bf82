namespace RamCoin.Tests.Infrastructure;

/// <summary>Measured figures (resume times, losses): in the test output and in TestResults/figures.txt.</summary>
public static class Figures
{
    private static readonly Lock Gate = new();

    public static void Report(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        var dir = Path.Combine(AppContext.BaseDirectory, "TestResults");
        lock (Gate)
        {
            Directory.CreateDirectory(dir);
            File.AppendAllText(Path.Combine(dir, "figures.txt"), $"{DateTime.UtcNow:O} {line}{Environment.NewLine}");
        }
    }
}
