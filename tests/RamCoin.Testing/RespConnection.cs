using System.Net.Sockets;
using System.Text;

namespace RamCoin.Tests.Infrastructure;

/// <summary>
/// One plain RESP connection, no reconnects: what a test needs to see whether the store kept a connection open and what
/// it answered on it (a client library would hide both).
/// </summary>
public sealed class RespConnection : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;

    private RespConnection(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _reader = new StreamReader(_stream, Encoding.UTF8);
    }

    public static async Task<RespConnection> ConnectAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
        return new RespConnection(client);
    }

    /// <summary>
    /// Sends one command and answers its reply: the status, error or integer line (<c>+OK</c>, <c>-NOPERM …</c>,
    /// <c>:1</c>), or a bulk string's content; throws <see cref="IOException"/> if the store closed the connection.
    /// </summary>
    public async Task<string> CommandAsync(params string[] parts) => (await PipelineAsync([parts]))[0];

    /// <summary>Sends the commands in one write, as a client pipelines them, and answers their replies in order.</summary>
    public async Task<string[]> PipelineAsync(params string[][] commands)
    {
        var batch = new StringBuilder();
        foreach (var parts in commands)
        {
            batch.Append(CultureInfo.InvariantCulture, $"*{parts.Length}\r\n");
            foreach (var part in parts)
            {
                batch.Append(CultureInfo.InvariantCulture, $"${Encoding.UTF8.GetByteCount(part)}\r\n{part}\r\n");
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(batch.ToString()), timeout.Token);
        var replies = new string[commands.Length];
        for (var i = 0; i < replies.Length; i++)
        {
            var line = await _reader.ReadLineAsync(timeout.Token) ?? throw new IOException("the store closed the connection");
            replies[i] = line.StartsWith('$') && line != "$-1"
                ? await _reader.ReadLineAsync(timeout.Token) ?? throw new IOException("the store closed the connection")
                : line;
        }

        return replies;
    }

    public void Dispose()
    {
        _reader.Dispose();
        _client.Dispose();
    }
}
