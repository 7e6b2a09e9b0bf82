using System.Text;
using RamCoin.Bench;

namespace RamCoin.Tests;

/// <summary>The viewers bench's socket client reads a <c>GET /events</c> answer however the bytes are split.</summary>
public sealed class EventStreamBytesTests
{
    private const string Frame1 = "event: dashboard\ndata: {\"now\":1.5,\"a\":[1,2]}\n\n";
    private const string Frame2 = "event: dashboard\ndata:{\"now\":2.5}\n\n";

    public static TheoryData<string, bool> Answers => new()
    {
        // The web UI's own connection path: the body ends with the connection.
        { "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n" + Frame1 + Frame2, false },
        // Kestrel's: chunked, a chunk per flush, then the last chunk.
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + Chunk(Frame1) + Chunk(Frame2) + "0\r\n\r\n", true },
        // A chunk that holds one and a half frames, and one with an extension.
        { "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n" + Chunk(Frame1 + Frame2[..10]) + $"{Frame2.Length - 10:x};x=y\r\n" + Frame2[10..] + "\r\n0\r\n\r\n", true },
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public void EveryEventsDataComesOutWhereverTheReadsSplitTheAnswer(string answer, bool ends)
    {
        var bytes = Encoding.UTF8.GetBytes(answer);
        foreach (var size in new[] { 1, 2, 3, 7, 16, bytes.Length })
        {
            var reader = new EventStreamBytes();
            var data = new List<string>();
            for (var at = 0; at < bytes.Length; at += size)
            {
                Assert.True(reader.Feed(bytes.AsSpan(at, Math.Min(size, bytes.Length - at)), d => data.Add(Encoding.UTF8.GetString(d)), out var error), error);
            }

            Assert.Equal(200, reader.Status);
            Assert.Equal(["{\"now\":1.5,\"a\":[1,2]}", "{\"now\":2.5}"], data);
            Assert.Equal(ends, reader.Ended);
        }
    }

    [Fact]
    public void ARefusalGivesItsStatusAndNoEvents()
    {
        var reader = new EventStreamBytes();
        var data = 0;
        Assert.True(reader.Feed("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Length: 2\r\n\r\n{}"u8, _ => data++, out _));
        Assert.Equal(503, reader.Status);
        Assert.Equal(0, data);
    }

    [Theory]
    [InlineData("SSH-2.0-OpenSSH_9.2\r\n\r\n", "not an HTTP/1.x status line")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "not hexadecimal")]
    public void AnAnswerThatIsNotAnEventStreamFailsWithAReason(string answer, string reason)
    {
        var reader = new EventStreamBytes();
        Assert.False(reader.Feed(Encoding.ASCII.GetBytes(answer), _ => { }, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    private static string Chunk(string data) => $"{Encoding.UTF8.GetByteCount(data):x}\r\n{data}\r\n";
}
