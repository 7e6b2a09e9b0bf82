namespace RamCoin.Lessons;

/// <summary>
/// The Kubernetes lesson knobs (<see cref="KubernetesLessonKnobs"/>). The CPU burn acts on the requests of the
/// service it is set in. SIGTERM, the leak and the crash belong to the process: in a container that is one service;
/// in the launcher, where several services share the process, the strongest setting among them wins (SIGTERM is
/// ignored while any of them says so, the leak grows at the highest rate, and any crash stops the launcher).
/// </summary>
public static class LessonProcessFaults
{
    /// <summary>The exit code after a crash on purpose (1 and 2 mean a failed start or bad settings).</summary>
    public const int CrashExitCode = 3;

    private static readonly Lock Gate = new();
    private static LessonProcessFaultsService[] _services = [];
    private static ILogger? _logger;
    private static int _crashed;

    /// <summary>The process's leak, growing at the highest rate any of its services asks for.</summary>
    public static ResidentMemoryLeak Leak { get; } = new(() => Max(k => k.LeakMbPerMinute), () => _logger);

    /// <summary>True while any service in this process has <c>RAMCOIN_IGNORE_SIGTERM=true</c>.</summary>
    public static bool IgnoresSigterm => Volatile.Read(ref _services).Any(s => s.Current.IgnoreSigterm);

    /// <summary>True once a service stopped because of <c>RAMCOIN_CRASH_AFTER_S</c>: the process then exits with <see cref="CrashExitCode"/>.</summary>
    public static bool Crashed => Volatile.Read(ref _crashed) == 1;

    public static void AddKubernetesLessonKnobs(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddValidatedOptions<KubernetesLessonKnobs, KubernetesLessonKnobsValidator>(configuration, (c, o) => c.Bind(o));
        builder.Services.AddHostedService<LessonProcessFaultsService>();
    }

    /// <summary>Spends <c>RAMCOIN_CPU_BURN_MS</c> of CPU on each request to the service's own endpoints.</summary>
    public static void UseLessonCpuBurn(this WebApplication app)
    {
        var knobs = app.Services.GetRequiredService<IOptionsMonitor<KubernetesLessonKnobs>>();
        app.Use((context, next) =>
        {
            if (knobs.CurrentValue.CpuBurnMs is > 0 and var burn && LessonFaults.IsOwnEndpoint(context.Request.Path))
            {
                CpuBurn.Spend(TimeSpan.FromMilliseconds(burn));
            }

            return next(context);
        });
    }

    internal static void Join(LessonProcessFaultsService service, ILogger logger)
    {
        lock (Gate)
        {
            _logger ??= logger;
            Volatile.Write(ref _services, [.. _services, service]);
        }

        Leak.Update();
    }

    internal static void Leave(LessonProcessFaultsService service)
    {
        lock (Gate)
        {
            Volatile.Write(ref _services, [.. _services.Where(s => s != service)]);
        }

        Leak.Update();
    }

    internal static void MarkCrashed() => Volatile.Write(ref _crashed, 1);

    private static int Max(Func<KubernetesLessonKnobs, int> value) =>
        Volatile.Read(ref _services).Select(s => value(s.Current)).DefaultIfEmpty(0).Max();
}

/// <summary>
/// One service's part in the process faults: it keeps the service's last valid knobs for the process (read in a
/// signal handler, which must not throw), and stops the service when its crash time comes.
/// </summary>
internal sealed class LessonProcessFaultsService(
    IOptionsMonitor<KubernetesLessonKnobs> knobs, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<LessonProcessFaultsService> logger)
    : IHostedService, IDisposable
{
    private readonly Lock _gate = new();
    private IDisposable? _subscription;
    private ITimer? _crash;
    private int _crashAfterS;

    public KubernetesLessonKnobs Current { get; private set; } = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Current = knobs.CurrentValue;
        LessonProcessFaults.Join(this, logger);
        ArmCrash(Current.CrashAfterS);
        // Only valid values arrive here: a change that fails validation is put back by the admin API.
        _subscription = knobs.OnChange(current =>
        {
            Current = current;
            LessonProcessFaults.Leak.Update();
            ArmCrash(current.CrashAfterS);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        LessonProcessFaults.Leave(this);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        lock (_gate)
        {
            _crash?.Dispose();
            _crash = null;
        }
    }

    /// <summary>Counts from when the value changed, so an unrelated knob change does not postpone the crash.</summary>
    private void ArmCrash(int seconds)
    {
        lock (_gate)
        {
            if (seconds == _crashAfterS)
            {
                return;
            }

            _crashAfterS = seconds;
            _crash?.Dispose();
            _crash = seconds == 0 ? null : time.CreateTimer(_ => Crash(seconds), null, TimeSpan.FromSeconds(seconds), Timeout.InfiniteTimeSpan);
        }
    }

    private void Crash(int seconds)
    {
        logger.LogError("RAMCOIN_CRASH_AFTER_S is {Seconds}: stopping with exit code {Code} on purpose (the CrashLoopBackOff lesson)", seconds, LessonProcessFaults.CrashExitCode);
        LessonProcessFaults.MarkCrashed();
        // A stop, not an abort: the worker still flushes its count, so the lesson loses no hashes.
        lifetime.StopApplication();
    }
}
