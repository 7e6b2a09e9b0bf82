namespace RamCoin.StoreContract;

/// <summary>
/// <c>DIFFICULTY</c>: the hex prefix that makes a hash a coin (the wallet's keys start with it). The worker mines with
/// it and the web UI checks coins with it, so both accept the same values.
/// </summary>
public static class CoinDifficulty
{
    public const string Setting = "DIFFICULTY";

    /// <summary>DockerCoins' prefix: one hash in 16 is a coin.</summary>
    public const string Classic = "0";

    /// <summary>1 to 16 hex digits: an empty prefix makes every hash a coin, and 16 already means one in 2^64.</summary>
    public static bool IsValid(string? value) =>
        value is { Length: >= 1 and <= 16 } && value.All(char.IsAsciiHexDigit);

    public static string Failure(string? value) =>
        $"{Setting} must be a hex prefix of 1 to 16 characters, such as 0 or 00 (it is '{value}').";
}
