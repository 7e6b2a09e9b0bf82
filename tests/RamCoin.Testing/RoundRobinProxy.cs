using System.Net.Sockets;

namespace RamCoin.Tests.Infrastructure;

/// <summary>
/// What a Kubernetes Service does to the workers' calls (kube-proxy balances connections, not requests): each new
/// connection goes to the next backend, bytes pass through unchanged. Backends can be added while it runs, as pods
/// join a Service; connections already open stay where they are.
/// </summary>
public sealed class RoundRobinProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<int> _backends;
    private readonly Task _accepting;
    private int _next;

    private RoundRobinProxy(IEnumerable<int> backendPorts)
    {
        _backends = [.. backendPorts];
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    public static RoundRobinProxy Start(params int[] backendPorts) => new(backendPorts);

    public void Add(int backendPort)
    {
        lock (_lock)
        {
            _backends.Add(backendPort);
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            int port;
            lock (_lock)
            {
                port = _backends[_next++ % _backends.Count];
            }

            _ = PipeAsync(client, port);
        }
    }

    private async Task PipeAsync(TcpClient client, int port)
    {
        using (client)
        using (var backend = new TcpClient())
        {
            try
            {
                await backend.ConnectAsync(IPAddress.Loopback, port, _stop.Token);
                using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var up = client.GetStream().CopyToAsync(backend.GetStream(), done.Token);
                var down = backend.GetStream().CopyToAsync(client.GetStream(), done.Token);
                // Either side closing ends the pair, as a connection through kube-proxy does.
                await Task.WhenAny(up, down);
                await done.CancelAsync();
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
                // The caller or the backend went away: so does this connection.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
