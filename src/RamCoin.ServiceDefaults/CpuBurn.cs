using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace RamCoin.ServiceDefaults;

/// <summary>
/// Real CPU work for <c>RAMCOIN_CPU_BURN_MS</c>: SHA-256 rounds until the calling thread has used the budget. On Linux
/// it counts the thread's own CPU time, so a loaded machine makes a request slower but never cheaper; elsewhere
/// it counts elapsed time.
/// </summary>
public static class CpuBurn
{
    private const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID on Linux
    private const int RoundsPerCheck = 256;
    private static bool _threadClock = OperatingSystem.IsLinux();

    public static void Spend(TimeSpan budget)
    {
        Span<byte> block = stackalloc byte[64];
        Span<byte> hash = stackalloc byte[32];
        var start = Now();
        var until = start + budget;
        do
        {
            for (var i = 0; i < RoundsPerCheck; i++)
            {
                SHA256.HashData(block, hash);
                hash.CopyTo(block);
            }
        }
        while (Now() < until);
    }

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
