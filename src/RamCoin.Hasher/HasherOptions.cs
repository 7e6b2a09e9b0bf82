using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RamCoin.ServiceDefaults;

namespace RamCoin.Hasher;

public sealed class HasherOptions
{
    /// <summary>The largest body hasher reads: 1 MiB. Bigger bodies get 413.</summary>
    public const int MaxBodyBytes = 1_048_576;

    /// <summary>Pause before each answer (classic: 100 ms, DockerCoins' <c>sleep 0.1</c>); requests run concurrently.</summary>
    [ConfigurationKeyName("HASHER_DELAY_MS")]
    [Range(0, 60_000, ErrorMessage = "HASHER_DELAY_MS must be from {1} to {2}.")]
    public int DelayMs { get; set; } = 100;

    internal void ApplyProfile(Profile profile)
    {
        if (profile == Profile.Fast)
        {
            DelayMs = 0;
        }
    }
}

[OptionsValidator]
public sealed partial class HasherOptionsValidator : IValidateOptions<HasherOptions>;
