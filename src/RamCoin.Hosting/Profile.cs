namespace RamCoin.Hosting;

/// <summary>
/// Classic reproduces DockerCoins' timings (100 ms delays, rng serves one request at a time);
/// fast turns the delays off and the concurrency up. Explicit settings win over either.
/// </summary>
public enum Profile
{
    Classic,
    Fast,
}

public static class Profiles
{
    public static string Failure(string setting, string? text) => $"{setting}: '{text}' is not a profile (classic or fast).";

    public static string Name(Profile profile) => profile == Profile.Fast ? "fast" : "classic";

    public static bool TryParse(string? value, out Profile profile)
    {
        switch (value?.Trim().ToLowerInvariant())
        {
            case "classic":
                profile = Profile.Classic;
                return true;
            case "fast":
                profile = Profile.Fast;
                return true;
            default:
                profile = Profile.Classic;
                return false;
        }
    }
}
