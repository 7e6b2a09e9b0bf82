using System.Net.Sockets;
using System.Text;

namespace RamCoin.Tests.Infrastructure;

/// <summary>
/// A loopback TCP proxy in front of a RESP store that, when armed, lets one EXEC reach the store and then
/// cuts the connection before its reply gets back: the write is applied, the client cannot know it.
/// </summary>
public sealed class ExecReplyDroppingProxy : IAsyncDisposable
{
    private static readonly byte[] Exec = Encoding.ASCII.GetBytes("EXEC\r\n");
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private int _armed;
    private int _dropped;

    public ExecReplyDroppingProxy(int targetPort)
    {
        _target = targetPort;
        _listener.Start();
        _ = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>EXEC replies dropped so far.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    public void DropNextExecReply() => Volatile.Write(ref _armed, 1);

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = RelayAsync(client);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var server = new TcpClient();
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            var execSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var up = PumpAsync(client.GetStream(), server.GetStream(), chunk =>
            {
                if (chunk.AsSpan().IndexOf(Exec) >= 0 && Interlocked.Exchange(ref _armed, 0) == 1)
                {
                    execSent.TrySetResult();
                }
            });
            var down = PumpAsync(server.GetStream(), client.GetStream(), null, execSent.Task);
            await Task.WhenAny(up, down);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A connection ended: the client reconnects.
        }
    }

    /// <summary>Copies bytes; once <paramref name="cut"/> completes, the next bytes are dropped and the connection closed.</summary>
    private async Task PumpAsync(NetworkStream from, NetworkStream to, Action<byte[]>? inspect, Task? cut = null)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return;
            }

            if (cut is { IsCompleted: true })
            {
                Interlocked.Increment(ref _dropped);
                return;
            }

            // Inspect before forwarding, so the cut is in place before the store can answer.
            inspect?.Invoke(buffer[..read]);
            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }
}
