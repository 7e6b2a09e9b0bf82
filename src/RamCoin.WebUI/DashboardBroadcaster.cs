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
    private readonly List<DashboardViewer> _streams = [];
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
        var stream = new DashboardViewer(this, sink);
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

        using var registration = aborted.UnsafeRegister(static s => ((DashboardViewer)s!).Abort(), stream);
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
        DashboardViewer[] streams;
        int count;
        lock (_lock)
        {
            _latest = frame;
            count = _streams.Count;
            streams = ArrayPool<DashboardViewer>.Shared.Rent(Math.Max(count, 1));
            _streams.CopyTo(streams);
        }

        try
        {
            // Every send is a system call, so in one loop the last of thousands of viewers gets each tick late by
            // all the others' sends: split them over the cores. Below a few hundred streams one loop is quicker
            // than the hand-off.
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
            ArrayPool<DashboardViewer>.Shared.Return(streams, clearArray: true);
        }
    }

    private static void OfferRange(DashboardViewer[] streams, int from, int to, byte[] frame)
    {
        for (var i = from; i < to; i++)
        {
            streams[i].Offer(frame);
        }
    }

    /// <summary>Ends every stream (the web UI stops) and refuses new ones.</summary>
    public void Close()
    {
        DashboardViewer[] streams;
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

    internal void Remove(DashboardViewer stream)
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
}
