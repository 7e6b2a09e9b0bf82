using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace RamCoin.WebUI;

/// <summary>
/// The live streams (<c>/events</c>): each tick's frame is written by one loop (one per core with hundreds of streams) to every stream,
/// with no task, timer or queue per stream. A stream whose previous frame is still being flushed (a slow or
/// stalled viewer) is not waited for: it gets the newest frame once its flush completes, and the frames between
/// are dropped (each one is a whole dashboard, so the newest is all a viewer needs).
/// </summary>
public sealed class DashboardBroadcaster
{
    private readonly Lock _lock = new();
    private readonly List<Viewer> _streams = [];
    private byte[]? _latest;
    private bool _closed;
    private int _count;

    /// <summary>Open <c>/events</c> streams of this web UI (counted from the admission to the handler's end).</summary>
    public int Viewers => Volatile.Read(ref _count);

    /// <summary>Takes a place for one more stream unless <paramref name="max"/> are open; <see cref="Leave"/> gives it back.</summary>
    public bool TryEnter(int max)
    {
        if (Interlocked.Increment(ref _count) <= max)
        {
            return true;
        }

        Interlocked.Decrement(ref _count);
        return false;
    }

    public void Leave() => Interlocked.Decrement(ref _count);

    /// <summary>
    /// Streams the frames to <paramref name="writer"/>: the newest at once, then each new one; completes when the
    /// viewer went away (<paramref name="aborted"/> or a failed write) or the broadcaster closed. Nothing is written
    /// to the pipe after the task completes, so the caller may then end the response.
    /// </summary>
    public Task StreamAsync(PipeWriter writer, CancellationToken aborted) => StreamAsync(new PipeSink(writer), aborted);

    /// <summary>
    /// The same, sent straight to a connection's <paramref name="socket"/> (<see cref="EventStreamConnections"/>):
    /// every viewer sends the one frame array, with no copy into a buffer of its own.
    /// </summary>
    public Task StreamAsync(Socket socket, CancellationToken aborted) => StreamAsync(new SocketSink(socket), aborted);

    private async Task StreamAsync(FrameSink sink, CancellationToken aborted)
    {
        var stream = new Viewer(this, sink);
        byte[]? latest;
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            stream.Index = _streams.Count;
            _streams.Add(stream);
            latest = _latest;
        }

        using var registration = aborted.UnsafeRegister(static s => ((Viewer)s!).Abort(), stream);
        if (latest is not null)
        {
            stream.Offer(latest);
        }

        await stream.Done.Task;
    }

    /// <summary>The fewest streams worth a core of their own in <see cref="Publish"/>.</summary>
    public const int StreamsPerPart = 256;

    /// <summary>Writes one frame to every open stream: the caller's thread, and with hundreds of streams every core.</summary>
    public void Publish(byte[] frame)
    {
        Viewer[] streams;
        int count;
        lock (_lock)
        {
            _latest = frame;
            count = _streams.Count;
            streams = ArrayPool<Viewer>.Shared.Rent(Math.Max(count, 1));
            _streams.CopyTo(streams);
        }

        try
        {
            // A send costs the kernel 15-20 µs here even on loopback with no one reading, so 10,000 streams in one loop
            // took 280-310 ms: the last viewer got each tick that late. Split over the cores: 230-270 ms on two, which
            // the viewers' bench shares. Below a few hundred streams one loop is quicker than the hand-off.
            var parts = Math.Min(Environment.ProcessorCount, count / StreamsPerPart);
            if (parts <= 1)
            {
                OfferRange(streams, 0, count, frame);
            }
            else
            {
                Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, part =>
                    OfferRange(streams, count * part / parts, count * (part + 1) / parts, frame));
            }
        }
        finally
        {
            ArrayPool<Viewer>.Shared.Return(streams, clearArray: true);
        }
    }

    private static void OfferRange(Viewer[] streams, int from, int to, byte[] frame)
    {
        for (var i = from; i < to; i++)
        {
            streams[i].Offer(frame);
        }
    }

    /// <summary>Ends every stream (the web UI stops) and refuses new ones.</summary>
    public void Close()
    {
        Viewer[] streams;
        lock (_lock)
        {
            _closed = true;
            streams = [.. _streams];
        }

        foreach (var stream in streams)
        {
            stream.Abort();
        }
    }

    private void Remove(Viewer stream)
    {
        lock (_lock)
        {
            // Swap with the last: removal in constant time, order does not matter.
            var last = _streams[^1];
            _streams[stream.Index] = last;
            last.Index = stream.Index;
            _streams.RemoveAt(_streams.Count - 1);
        }
    }

    /// <summary>One viewer's response pipe; only one write or flush is under way at a time.</summary>
    private sealed class Viewer(DashboardBroadcaster owner, FrameSink sink)
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
    }

    private static bool IsGone(Exception ex) =>
        ex is IOException or SocketException or InvalidOperationException or ObjectDisposedException or OperationCanceledException;

    /// <summary>Where a viewer's frames go; true while the viewer is still there.</summary>
    private abstract class FrameSink
    {
        public abstract ValueTask<bool> SendAsync(byte[] frame);
    }

    /// <summary>A response body: the frame is copied into the pipe, then flushed.</summary>
    private sealed class PipeSink(PipeWriter writer) : FrameSink
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
    private sealed class SocketSink(Socket socket) : FrameSink
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
}
