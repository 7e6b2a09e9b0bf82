using System.Net.Sockets;
using System.Text;
using RamCoin.WebUI;

namespace RamCoin.Tests;

/// <summary>
/// <c>GET /events</c> answered at the connection (<see cref="EventStreamConnections"/>), over raw sockets: the same
/// answer as Kestrel's endpoint but for its framing, and everything else left whole to Kestrel.
/// </summary>
public sealed class EventStreamConnectionTests : IAsyncLifetime
{
    private StoreServer _store = null!;
    private RunningService _webui = null!;

    public async ValueTask InitializeAsync()
    {
        _store = await StoreServer.StartGarnetAsync();
        _webui = await RunningService.StartAsync(ServiceNames.WebUI, new() { ["WEBUI_MAX_STREAMS"] = "3" }, peers: _store.Peers());
    }

    public async ValueTask DisposeAsync()
    {
        await _webui.DisposeAsync();
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task TheAnswerHasTheEndpointsHeadersAndEventsAndEndsWithTheConnection()
    {
        // A head over 8 KiB is left to Kestrel (its limit is 32 KiB): the endpoint's own answer, to compare with.
        using var viaKestrel = await OpenAsync($"GET /events HTTP/1.1\r\nHost: x\r\nX-Pad: {new string('a', 9000)}\r\n\r\n");
        using var viaConnection = await OpenAsync("GET /events?from=page HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");

        var kestrel = await viaKestrel.HeadAsync();
        var connection = await viaConnection.HeadAsync();

        Assert.Equal("HTTP/1.1 200 OK", connection.Status);
        Assert.Equal("close", connection.Headers["connection"]);
        Assert.Equal("chunked", kestrel.Headers["transfer-encoding"]);
        string[] framing = ["date", "connection", "transfer-encoding"];
        Assert.Equal(
            kestrel.Headers.Where(h => !framing.Contains(h.Key)).OrderBy(h => h.Key),
            connection.Headers.Where(h => !framing.Contains(h.Key)).OrderBy(h => h.Key));
        Assert.True(DateTimeOffset.TryParse(connection.Headers["date"], out _), connection.Headers["date"]);

        // Unframed here, chunked there: the same event text either way, one whole dashboard a second.
        var first = await viaConnection.ReadUntilAsync("\n\n");
        Assert.StartsWith("event: dashboard\ndata: {\"now\":", first, StringComparison.Ordinal);
        var next = await viaConnection.ReadUntilAsync("\n\n");
        Assert.StartsWith("event: dashboard\ndata: {\"now\":", next, StringComparison.Ordinal);
        Assert.Contains("event: dashboard\ndata: {\"now\":", await viaKestrel.ReadUntilAsync("\n\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARequestSentAByteAtATimeIsServed()
    {
        using var client = await OpenAsync("");
        foreach (var b in "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8.ToArray())
        {
            await client.Stream.WriteAsync(new[] { b }, Ct);
            await Task.Delay(5, Ct);
        }

        var head = await client.HeadAsync();
        Assert.Equal("HTTP/1.1 200 OK", head.Status);
        Assert.Equal("close", head.Headers["connection"]);
        Assert.StartsWith("event: dashboard", await client.ReadUntilAsync("\n\n"), StringComparison.Ordinal);
    }

    /// <summary>What is not a plain stream request reaches Kestrel unread, and gets Kestrel's answer.</summary>
    [Theory]
    [InlineData("GET /eventsx HTTP/1.1\r\nHost: x\r\n\r\n", "404")]
    [InlineData("POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "405")]
    [InlineData("GET /events HTTP/1.1\r\n\r\n", "400")]
    [InlineData("GET /events HTTP/1.1\r\nHost : x\r\n\r\n", "400")]
    [InlineData("GET /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "200")]
    [InlineData("GET /json HTTP/1.1\r\nHost: x\r\n\r\n", "200")]
    public async Task AnythingElseGetsKestrelsOwnAnswer(string request, string status)
    {
        using var client = await OpenAsync(request);

        var head = await client.HeadAsync();

        Assert.Equal(status, head.Status.Split(' ')[1]);
        Assert.False(head.Headers.TryGetValue("connection", out var connection) && connection == "close" && status == "200", "Kestrel's answer, not the connection's");
    }

    [Fact]
    public async Task StreamsAreCappedLeaveTheirPlaceAndEndWhenTheWebUIStops()
    {
        var broadcaster = _webui.Get<DashboardBroadcaster>();
        var open = new List<RawClient>();
        for (var i = 0; i < 3; i++)
        {
            var client = await OpenAsync("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Equal("HTTP/1.1 200 OK", (await client.HeadAsync()).Status);
            open.Add(client);
        }

        using var refused = await OpenAsync("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
        var problem = await refused.HeadAsync();
        Assert.Equal("HTTP/1.1 503 Service Unavailable", problem.Status);
        Assert.Equal("application/problem+json", problem.Headers["content-type"]);
        Assert.Equal("30", problem.Headers["retry-after"]);

        open[0].Dispose();
        await Eventually.TrueAsync(() => broadcaster.Viewers == 2, "a closed stream is counted out");
        using var again = await OpenAsync("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal("HTTP/1.1 200 OK", (await again.HeadAsync()).Status);

        // The web UI's stop ends the open streams instead of waiting for them.
        var clock = Stopwatch.StartNew();
        await _webui.DisposeAsync();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the web UI took {clock.Elapsed} to stop with streams open");
        Assert.True(await ClosesAsync(again), "an open stream ends when the web UI stops");
        foreach (var client in open)
        {
            client.Dispose();
        }
    }

    /// <summary>Whether the web UI closes the connection within 5 seconds (what it sent before is read and dropped).</summary>
    private static async Task<bool> ClosesAsync(RawClient client)
    {
        var buffer = new byte[64 * 1024];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            while (await client.Stream.ReadAsync(buffer, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            return false;
        }
    }

    [Fact]
    public async Task AnIdleConnectionDoesNotHoldUpTheStop()
    {
        // What a browser keeps open beside its page: a connection with no request yet. A rolling update stops the
        // web UI; waiting on such a connection until the shutdown timeout (30 s) would get the pod killed instead.
        using var idle = await OpenAsync("");
        await Task.Delay(300, Ct);

        var stopping = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _webui.Host.StopAsync(timeout.Token);

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(5), $"the stop took {stopping.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(0, await idle.Stream.ReadAsync(new byte[16], Ct));
    }

    private async Task<RawClient> OpenAsync(string request)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(_webui.Address.Host, _webui.Address.Port, Ct);
        var client = new RawClient(tcp);
        if (request.Length > 0)
        {
            await client.Stream.WriteAsync(Encoding.ASCII.GetBytes(request), Ct);
        }

        return client;
    }

    private sealed record Head(string Status, Dictionary<string, string> Headers);

    private sealed class RawClient(TcpClient tcp) : IDisposable
    {
        private readonly StringBuilder _received = new();

        public NetworkStream Stream { get; } = tcp.GetStream();

        public async Task<Head> HeadAsync()
        {
            var text = await ReadUntilAsync("\r\n\r\n");
            var lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
            return new Head(lines[0], headers);
        }

        /// <summary>The text up to and including <paramref name="end"/>, within 10 seconds.</summary>
        public async Task<string> ReadUntilAsync(string end)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            var buffer = new byte[4096];
            while (true)
            {
                var text = _received.ToString();
                var at = text.IndexOf(end, StringComparison.Ordinal);
                if (at >= 0)
                {
                    _received.Remove(0, at + end.Length);
                    return text[..(at + end.Length)];
                }

                var read = await Stream.ReadAsync(buffer, timeout.Token);
                Assert.True(read > 0, $"the connection closed before '{end.ReplaceLineEndings("\\n")}'; received: {text}");
                _received.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }

        public void Dispose() => tcp.Dispose();
    }
}
