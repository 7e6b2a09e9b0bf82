using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace RamCoin.WebUI;

/// <summary>One viewer's response pipe; only one write or flush is under way at a time.</summary>
internal sealed class DashboardViewer(DashboardBroadcaster owner, FrameSink sink)
{
    private readonly Lock _lock = new();
    private byte[]? _pending;
    private bool _busy;
    private bool _aborted;
    private bool _ended;

    public int Index { get; set; }

    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Offer(byte[] frame)
    {
        lock (_lock)
        {
            if (_ended || _aborted)
            {
                return;
            }

            if (_busy)
            {
                _pending = frame;
                return;
            }

            _busy = true;
        }

        Write(frame);
    }

    public void Abort()
    {
        lock (_lock)
        {
            _aborted = true;
            if (_busy)
            {
                // The write under way ends the stream when it returns.
                return;
            }
        }

        End();
    }

    private void Write(byte[] frame)
    {
        while (true)
        {
            ValueTask<bool> sent;
            try
            {
                sent = sink.SendAsync(frame);
            }
            catch (Exception ex) when (IsGone(ex))
            {
                End();
                return;
            }

            if (!sent.IsCompletedSuccessfully)
            {
                // Backpressure: the socket is full. Only this stream waits; the loop goes on to the next.
                _ = AwaitSendAsync(sent);
                return;
            }

            if (Next(sent.Result) is not { } next)
            {
                return;
            }

            frame = next;
        }
    }

    private async Task AwaitSendAsync(ValueTask<bool> send)
    {
        bool open;
        try
        {
            open = await send;
        }
        catch (Exception ex) when (IsGone(ex))
        {
            End();
            return;
        }

        if (Next(open) is { } next)
        {
            Write(next);
        }
    }

    /// <summary>After a flush: the frame that came meanwhile, or null (idle again, or ended).</summary>
    private byte[]? Next(bool open)
    {
        lock (_lock)
        {
            if (open && !_aborted)
            {
                var next = _pending;
                _pending = null;
                _busy = next is not null;
                return next;
            }
        }

        End();
        return null;
    }

    private void End()
    {
        lock (_lock)
        {
            if (_ended)
            {
                return;
            }

            _ended = true;
            _pending = null;
        }

        owner.Remove(this);
        Done.TrySetResult();
    }

    private static bool IsGone(Exception ex) =>
        ex is IOException or SocketException or InvalidOperationException or ObjectDisposedException or OperationCanceledException;
}

/// <summary>Where a viewer's frames go; true while the viewer is still there.</summary>
internal abstract class FrameSink
{
    public abstract ValueTask<bool> SendAsync(byte[] frame);
}

/// <summary>A response body: the frame is copied into the pipe, then flushed.</summary>
internal sealed class PipeSink(PipeWriter writer) : FrameSink
{
    public override ValueTask<bool> SendAsync(byte[] frame)
    {
        writer.Write(frame);
        var flush = writer.FlushAsync();
        return flush.IsCompletedSuccessfully ? ValueTask.FromResult(Open(flush.Result)) : AwaitAsync(flush);

        static async ValueTask<bool> AwaitAsync(ValueTask<FlushResult> flush) => Open(await flush);
    }

    private static bool Open(FlushResult result) => !result.IsCompleted && !result.IsCanceled;
}

/// <summary>A socket: the shared frame itself is sent (all of it: a stream socket's send completes when every byte is).</summary>
internal sealed class SocketSink(Socket socket) : FrameSink
{
    public override ValueTask<bool> SendAsync(byte[] frame)
    {
        var send = socket.SendAsync(frame.AsMemory(), SocketFlags.None);
        return send.IsCompletedSuccessfully ? ValueTask.FromResult(true) : AwaitAsync(send);

        static async ValueTask<bool> AwaitAsync(ValueTask<int> send)
        {
            await send;
            return true;
        }
    }
}
