using System.Diagnostics;
using System.Runtime.InteropServices;

namespace RamCoin.Lessons;

/// <summary>
/// Resident memory that grows at a rate (<c>RAMCOIN_LEAK_MB_PER_MINUTE</c>), up to <see cref="MaxBytes"/>, and is
/// given back when the rate returns to 0. Native blocks, not the GC heap: in a container the GC stops at 75 % of the
/// memory limit with an OutOfMemoryException, while the lesson wants the kernel's OOM kill at the limit itself.
/// Every page is written, so it is resident and not only reserved.
/// </summary>
public sealed class ResidentMemoryLeak(Func<int> mbPerMinute, Func<ILogger?> logger) : IDisposable
{
    /// <summary>The leak stops growing here, whatever the rate: a forgotten knob does not take the whole machine.</summary>
    public const long MaxBytes = 4096L << 20;

    // malloc (AllocHGlobal) of more than glibc's largest mmap threshold (32 MiB): each block is its own mapping, which free() unmaps.
    private const long BlockBytes = 64L << 20;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);
    private static readonly int PageBytes = Environment.SystemPageSize;

    private readonly Lock _gate = new();
    private readonly List<nint> _blocks = [];
    private Timer? _timer;
    private long _lastTick;
    private double _owed;
    private long _resident;

    /// <summary>Bytes written so far (resident, unless the system swaps).</summary>
    public long LeakedBytes => Volatile.Read(ref _resident);

    /// <summary>Follows a change of the rate: starts growing, or at 0 stops and gives the memory back.</summary>
    public void Update()
    {
        lock (_gate)
        {
            var rate = mbPerMinute();
            if (rate > 0 && _timer is null)
            {
                _lastTick = Stopwatch.GetTimestamp();
                _timer = new Timer(_ => Grow(), null, Tick, Tick);
            }
            else if (rate == 0 && _timer is not null)
            {
                _timer.Dispose();
                _timer = null;
                Release();
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
            Release();
        }
    }

    private void Grow()
    {
        lock (_gate)
        {
            if (_timer is null)
            {
                return;
            }

            var now = Stopwatch.GetTimestamp();
            var wasBelowMax = _owed < MaxBytes;
            _owed = Math.Min(MaxBytes, _owed + (mbPerMinute() * (double)(1L << 20) / 60 * Stopwatch.GetElapsedTime(_lastTick, now).TotalSeconds));
            _lastTick = now;
            while (_resident + PageBytes <= _owed)
            {
                var offset = _resident % BlockBytes;
                if (offset == 0)
                {
                    _blocks.Add(Marshal.AllocHGlobal((nint)BlockBytes));
                }

                Marshal.WriteByte(_blocks[^1], (int)offset, 1);
                Volatile.Write(ref _resident, _resident + PageBytes);
            }

            if (wasBelowMax && _owed >= MaxBytes)
            {
                logger()?.LogWarning("RAMCOIN_LEAK_MB_PER_MINUTE: the leak stopped growing at its maximum, {Max} MiB", MaxBytes >> 20);
            }
        }
    }

    private void Release()
    {
        foreach (var block in _blocks)
        {
            Marshal.FreeHGlobal(block);
        }

        if (_resident > 0)
        {
            logger()?.LogWarning("RAMCOIN_LEAK_MB_PER_MINUTE is 0: released the {MiB} MiB leaked", _resident >> 20);
        }

        _blocks.Clear();
        _owed = 0;
        Volatile.Write(ref _resident, 0);
    }
}
