namespace RamCoin.Rng;

public sealed class RngOptions
{
    /// <summary>The largest answer rng gives: 1 MiB. The original served 100 MB and blocked everyone meanwhile.</summary>
    public const int MaxBytes = 1_048_576;

    /// <summary>Pause before each answer (classic: 100 ms, DockerCoins' <c>time.sleep(0.1)</c>).</summary>
    [Knob, ConfigurationKeyName("RNG_DELAY_MS")]
    public int DelayMs { get; set; } = 100;

    /// <summary>Requests served at once (classic: 1, which makes rng the bottleneck the scaling lessons find).</summary>
    [Knob, ConfigurationKeyName("RNG_CONCURRENCY")]
    public int Concurrency { get; set; } = 1;

    /// <summary>Requests that may wait in line; past this, rng answers 503 instead of queueing forever.</summary>
    [ConfigurationKeyName("RNG_QUEUE_LIMIT")]
    public int QueueLimit { get; set; } = 10_000;

    /// <summary>The fast profile: no delay, and requests served side by side.</summary>
    public static readonly IReadOnlyDictionary<string, string?> Fast = new Dictionary<string, string?>
    {
        ["RNG_DELAY_MS"] = "0",
        ["RNG_CONCURRENCY"] = "1024",
    };
}

public sealed class RngOptionsValidator : IValidateOptions<RngOptions>
{
    public ValidateOptionsResult Validate(string? name, RngOptions options) => new OptionChecks()
        .Range("RNG_DELAY_MS", options.DelayMs, 0, 60_000)
        .Range("RNG_CONCURRENCY", options.Concurrency, 1, 100_000)
        .Range("RNG_QUEUE_LIMIT", options.QueueLimit, 0, 1_000_000)
        .Result;
}
