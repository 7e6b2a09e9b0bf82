using RamCoin.Store;

namespace RamCoin.Tests;

/// <summary>
/// The embedded store compacts its append-only file in process: under a steady write load its clients keep their
/// connections and keep getting answers through every compaction, and the file stays bounded.
/// </summary>
public sealed class StoreCompactionTests
{
    private const int ValueBytes = 256 * 1024;

    /// <summary>160 writes of 256 KiB: 40 MiB of append-only file, five times the limit.</summary>
    private const int Writes = 160;

    [Fact]
    public async Task AClientKeepsItsConnectionAndItsAnswersThroughSeveralCompactionsAndTheFileStaysBounded()
    {
        await using var store = await StoreServer.StartPersistentGarnetAsync();
        var embedded = store.Get<EmbeddedStore>()!;
        using var writer = await RespConnection.ConnectAsync(store.Port);
        using var reader = await RespConnection.ConnectAsync(store.Port);
        var value = new string('v', ValueBytes);
        var clock = Stopwatch.StartNew();
        long largest = 0;
        var answeredAt = new HashSet<int>();
        var answers = 0;

        // One client reads all along on one connection (an IOException here fails the test: it was cut off).
        using var done = new CancellationTokenSource();
        var reads = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                Assert.Equal("+PONG", await reader.CommandAsync("PING"));
                answers++;
                answeredAt.Add(embedded.Compactions);
                await Task.Delay(20, CancellationToken.None);
            }
        }, Ct);

        // Bounded: 160 writes, about 20 a second, over a few keys (the data stays small, the file grows).
        for (var i = 0; i < Writes && clock.Elapsed < TimeSpan.FromSeconds(60); i++)
        {
            Assert.Equal("+OK", await writer.CommandAsync("SET", $"rotating{i % 8}", value));
            largest = Math.Max(largest, AofBytes(store.DataDir));
            await Task.Delay(50, Ct);
        }

        var seconds = clock.Elapsed.TotalSeconds;
        await Eventually.TrueAsync(() => embedded.Compactions >= 3, "the store compacts several times", 30);
        await done.CancelAsync();
        await reads;

        // The limit, a segment being written and what arrives in the seconds until the store has checked and compacted.
        var perSecond = (long)(Writes * (double)ValueBytes / seconds);
        var bound = EmbeddedStore.AofSizeLimitBytes + (2L << 20) + (4 * perSecond);
        Figures.Report(string.Create(CultureInfo.InvariantCulture,
            $"store compactions under writes: {embedded.Compactions} in {seconds:F1} s, {answers} answers on one connection, largest append-only file {largest >> 10} KiB (bound {bound >> 10} KiB)"));
        Assert.True(largest < bound, $"the append-only file reached {largest >> 10} KiB; the bound is {bound >> 10} KiB");
        for (var compaction = 0; compaction < 3; compaction++)
        {
            Assert.True(answeredAt.Contains(compaction), $"the reading client got no answer between compactions {compaction} and {compaction + 1}");
        }

        Assert.Equal("+PONG", await writer.CommandAsync("PING"));
        Assert.Equal(value, await reader.CommandAsync("GET", "rotating0"));
    }

    private static long AofBytes(string dataDir)
    {
        var folder = Path.Combine(dataDir, "AOF");
        try
        {
            return Directory.Exists(folder) ? new DirectoryInfo(folder).EnumerateFiles("aof.log.*").Sum(f => f.Length) : 0;
        }
        catch (IOException)
        {
            return 0; // a segment removed while counted
        }
    }
}
