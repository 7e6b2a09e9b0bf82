namespace RamCoin.Hasher;

public sealed class HasherOptions
{
    /// <summary>The largest body hasher reads: 1 MiB. Bigger bodies get 413.</summary>
    public const int MaxBodyBytes = 1_048_576;

    /// <summary>Pause before each answer (classic: 100 ms, DockerCoins' <c>sleep 0.1</c>); requests run concurrently.</summary>
    [Knob, ConfigurationKeyName("HASHER_DELAY_MS")]
    public int DelayMs { get; set; } = 100;

    /// <summary>The fast profile: no delay.</summary>
    public static readonly IReadOnlyDictionary<string, string?> Fast = new Dictionary<string, string?>
    {
        ["HASHER_DELAY_MS"] = "0",
    };
}

public sealed class HasherOptionsValidator : IValidateOptions<HasherOptions>
{
    public ValidateOptionsResult Validate(string? name, HasherOptions options) => new OptionChecks()
        .Range("HASHER_DELAY_MS", options.DelayMs, 0, 60_000)
        .Result;
}
