using System.Net.Sockets;
using System.Text;
using RamCoin.Bench;

namespace RamCoin.Tests;

/// <summary>What ramcoin-bench reads from h2load's summary, from /proc/&lt;pid&gt;/smaps and from a service's /metrics.</summary>
public sealed class BenchReadingTests
{
    // nghttp2 1.52's h2load summary, as it printed it here (a POST run, -D2).
    private const string H2loadSummary = """
        Application protocol: h2c
        Main benchmark duration is over for thread #0. Stopping all clients.

        finished in 2.02s, 7262.50 req/s, 646.68KB/s
        requests: 14525 total, 14653 started, 14525 done, 14525 succeeded, 0 failed, 0 errored, 0 timeout
        status codes: 14520 2xx, 0 3xx, 0 4xx, 5 5xx
        traffic: 1.26MB (1324399) total, 129.36KB (132469) headers (space savings 90.30%), 907.81KB (929600) data
        req/s           :     380.74      513.15      452.45       42.75    62.50%
        """;

    [Fact]
    public void H2loadSummaryGivesTheRateAndCountsTheNon2xxAnswersAsBad()
    {
        var result = H2load.Parse(H2loadSummary.ReplaceLineEndings("\n"));

        Assert.NotNull(result);
        // The summary's rate, not the per-client "req/s :" line below it.
        Assert.Equal(7262.50, result.Rate);
        Assert.Equal(14525, result.Done);
        Assert.Equal(14520, result.Status2xx);
        Assert.Equal(5, result.Bad);
        Assert.Equal("h2c", result.Protocol);
    }

    [Fact]
    public void H2loadWithoutASummaryIsNoResult()
    {
        // What h2load prints when the server refuses the connections: no "finished in" summary to read a rate from.
        Assert.Null(H2load.Parse("starting benchmark...\nspawning thread #0: 8 total client(s).\nNo protocol negotiated. Aborted.\n"));
    }

    [Fact]
    public void HttpOneAnswerIsNotCountedAsH2c()
    {
        var result = H2load.Parse(H2loadSummary.Replace("Application protocol: h2c", "", StringComparison.Ordinal).ReplaceLineEndings("\n"));

        Assert.Equal("none", result!.Protocol);
    }

    [Fact]
    public void SmapsOfThisProcessAddUpToItsRss()
    {
        var smaps = SmapsBreakdown.Read(Environment.ProcessId);

        Assert.True(smaps.RssKiB > 10_000, $"RSS {smaps.RssKiB} KiB");
        Assert.Equal(smaps.RssKiB, smaps.AnonymousKiB + smaps.FileKiB);
        // The per-mapping sums are the same memory as the rollup, read between it and the next one: the other tests
        // of this process allocate meanwhile (in CI the test host grew by 10 MiB while its smaps were read).
        var mapped = smaps.Mappings.Values.Sum();
        var next = SmapsBreakdown.Read(Environment.ProcessId).RssKiB;
        Assert.InRange(mapped, Math.Min(smaps.RssKiB, next) * 0.9, Math.Max(smaps.RssKiB, next) * 1.1);
        Assert.Contains(smaps.Mappings.Keys, k => k.EndsWith("libcoreclr.so", StringComparison.Ordinal));
        Assert.True(smaps.BinaryKiB > 0, $"the executable {smaps.Binary} is mapped");
        Assert.Equal(mapped, smaps.BinaryKiB + smaps.LibrariesKiB + smaps.OtherFilesKiB + smaps.Mappings.Where(m => !m.Key.StartsWith('/')).Sum(m => m.Value));
        Assert.True(smaps.Threads > 1);
    }

    [Fact]
    public void GcViewSumsTheGenerationsOfTheRuntimeMetrics()
    {
        const string Metrics = """
            # TYPE dotnet_gc_last_collection_heap_size_bytes gauge
            dotnet_gc_last_collection_heap_size_bytes{gc_heap_generation="gen0",otel_scope_name="System.Runtime"} 1048576 1764600000000
            dotnet_gc_last_collection_heap_size_bytes{gc_heap_generation="gen1",otel_scope_name="System.Runtime"} 2097152 1764600000000
            dotnet_gc_last_collection_memory_committed_size_bytes{otel_scope_name="System.Runtime"} 8388608 1764600000000
            dotnet_gc_collections_total{gc_heap_generation="gen0"} 12
            dotnet_gc_collections_total{gc_heap_generation="gen2"} 1
            dotnet_process_memory_working_set_bytes 40000000
            """;

        var gc = GcView.Parse(Metrics.ReplaceLineEndings("\n"));

        Assert.Equal(new GcView(3, 8, 13), gc);
        Assert.Null(GcView.Parse("process_cpu_seconds_total 1\n"));
    }

    [Fact]
    public async Task ArrivalStampsGiveTheBytesAndTheKernelsTimeOfTheirArrival()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, Ct);
        using var server = await listener.AcceptAsync(Ct);
        Assert.True(ArrivalStamps.Enable(client));
        var buffer = new byte[64];

        // The kernel turns its receive stamps on a moment after the first socket asks (deferred work): until then
        // bytes arrive unstamped (seen in CI: NaN). Wait for a stamped one, as the viewers bench's later frames are.
        var stamped = false;
        for (var attempt = 0; attempt < 100 && !stamped; attempt++)
        {
            await server.SendAsync("warm-up\n"u8.ToArray(), SocketFlags.None, Ct);
            await client.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, Ct);
            Assert.Equal("warm-up\n".Length, ArrivalStamps.Receive(client, buffer, out var warmUp));
            stamped = !double.IsNaN(warmUp);
            await Task.Delay(stamped ? 0 : 20, Ct);
        }

        Assert.True(stamped, "no stamp within 100 tries");

        // Nothing there yet: no wait, no bytes.
        Assert.Equal(-1, ArrivalStamps.Receive(client, buffer, out _));

        var before = UnixNow();
        await server.SendAsync("data: 1\n\n"u8.ToArray(), SocketFlags.None, Ct);
        var sent = UnixNow();
        // Read a while later: the stamp is the arrival, not the read.
        await Task.Delay(300, Ct);
        await client.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, Ct);
        var n = ArrivalStamps.Receive(client, buffer, out var arrived);

        Assert.Equal("data: 1\n\n", Encoding.ASCII.GetString(buffer, 0, n));
        Assert.InRange(arrived, before - 0.001, sent + 0.001);

        server.Shutdown(SocketShutdown.Send);
        await client.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, Ct);
        Assert.Equal(0, ArrivalStamps.Receive(client, buffer, out _));
    }

    private static double UnixNow() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;
}
