namespace RamCoin.Lessons;

/// <summary>
/// Knobs for the Kubernetes lessons, in every service. The CPU burn acts on the service it is set in; the other
/// three act on the whole process (see <see cref="LessonProcessFaults"/>), which in the launcher hosts five services.
/// </summary>
public sealed class KubernetesLessonKnobs
{
    public const int MaxCpuBurnMs = 1_000;
    public const int MaxLeakMbPerMinute = 6_000;
    public const int MaxCrashAfterS = 86_400;

    /// <summary>CPU time spent on each request to the service's own endpoints: an HPA on CPU scales.</summary>
    [Knob, ConfigurationKeyName("RAMCOIN_CPU_BURN_MS")]
    public int CpuBurnMs { get; set; }

    /// <summary>SIGTERM is ignored while true, so only SIGKILL stops the process: the grace-period lesson.</summary>
    [Knob, ConfigurationKeyName("RAMCOIN_IGNORE_SIGTERM")]
    public bool IgnoreSigterm { get; set; }

    /// <summary>Resident memory that grows by this many MiB a minute: the OOMKilled lesson.</summary>
    [Knob, ConfigurationKeyName("RAMCOIN_LEAK_MB_PER_MINUTE")]
    public int LeakMbPerMinute { get; set; }

    /// <summary>The service stops with exit code 3 this many seconds after the knob is set (at start: after the start): CrashLoopBackOff.</summary>
    [Knob, ConfigurationKeyName("RAMCOIN_CRASH_AFTER_S")]
    public int CrashAfterS { get; set; }
}

public sealed class KubernetesLessonKnobsValidator : IValidateOptions<KubernetesLessonKnobs>
{
    public ValidateOptionsResult Validate(string? name, KubernetesLessonKnobs options) => new OptionChecks()
        .Range("RAMCOIN_CPU_BURN_MS", options.CpuBurnMs, 0, KubernetesLessonKnobs.MaxCpuBurnMs)
        .Range("RAMCOIN_LEAK_MB_PER_MINUTE", options.LeakMbPerMinute, 0, KubernetesLessonKnobs.MaxLeakMbPerMinute)
        .Range("RAMCOIN_CRASH_AFTER_S", options.CrashAfterS, 0, KubernetesLessonKnobs.MaxCrashAfterS)
        .Result;
}
