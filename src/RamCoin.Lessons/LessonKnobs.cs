namespace RamCoin.Lessons;

/// <summary>Faults a teacher injects on purpose, in every service; see the README's knobs table for the lessons.</summary>
public sealed class LessonKnobs
{
    /// <summary>Share of requests (0 to 1) answered with an injected 500: retries, circuit breakers, error metrics.</summary>
    [Knob, ConfigurationKeyName("RAMCOIN_ERROR_RATE")]
    public double ErrorRate { get; set; }

    /// <summary>Added to every answer: latency histograms, timeouts, the bottleneck hint.</summary>
    [Knob, ConfigurationKeyName("RAMCOIN_EXTRA_LATENCY_MS")]
    public int ExtraLatencyMs { get; set; }

    /// <summary>Readiness fails this long after start: readiness probes, rolling updates that wait.</summary>
    [Knob, ConfigurationKeyName("RAMCOIN_SLOW_START_MS")]
    public int SlowStartMs { get; set; }

    /// <summary>Readiness fails while true: a pod taken out of its Service without being restarted.</summary>
    [Knob, ConfigurationKeyName("RAMCOIN_FORCE_UNREADY")]
    public bool ForceUnready { get; set; }
}

public sealed class LessonKnobsValidator : IValidateOptions<LessonKnobs>
{
    public ValidateOptionsResult Validate(string? name, LessonKnobs options) => new OptionChecks()
        .Check(options.ErrorRate is >= 0 and <= 1, $"RAMCOIN_ERROR_RATE must be from 0 to 1 (it is {options.ErrorRate}).")
        .Range("RAMCOIN_EXTRA_LATENCY_MS", options.ExtraLatencyMs, 0, 60_000)
        .Range("RAMCOIN_SLOW_START_MS", options.SlowStartMs, 0, 600_000)
        .Result;
}
