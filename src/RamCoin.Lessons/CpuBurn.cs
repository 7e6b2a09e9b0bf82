using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;

namespace RamCoin.Lessons;

/// <summary>
/// Real CPU work for <c>RAMCOIN_CPU_BURN_MS</c>: CRC-32C rounds until the calling thread has used the budget. On Linux
/// it counts the thread's own CPU time, so a loaded machine makes a request slower but never cheaper; elsewhere
/// it counts elapsed time.
/// </summary>
public static class CpuBurn
{
    private const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID on Linux
    private const uint RoundsPerCheck = 16_384;
    private static bool _threadClock = OperatingSystem.IsLinux();

    // CRC-32C in managed code: hashing work without native calls or allocations, checked against the clock rarely.
    public static void Spend(TimeSpan budget)
    {
        var until = Now() + budget;
        var crc = 0u;
        do
        {
            for (var i = 0u; i < RoundsPerCheck; i++)
            {
                crc = BitOperations.Crc32C(crc, i);
            }
        }
        while (Now() < until);
        Sink = crc;
    }

    /// <summary>Keeps the work from being optimized away.</summary>
    public static uint Sink { get; private set; }

    private static TimeSpan Now()
    {
        if (_threadClock)
        {
            try
            {
                if (ClockGetTime(ClockThreadCpuTime, out var now) == 0)
                {
                    return TimeSpan.FromSeconds(now.Seconds) + TimeSpan.FromTicks(now.Nanoseconds / 100);
                }
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                // Another C library (musl): elapsed time instead.
            }

            _threadClock = false;
        }

        return Stopwatch.GetElapsedTime(0);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc.so.6", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);
}
