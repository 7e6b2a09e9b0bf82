using System.Text.RegularExpressions;

namespace RamCoin.Hosting;

/// <summary>
/// Collects what is wrong with a set of options, naming each setting by the environment variable people set.
/// (The source-generated DataAnnotations validator ignores custom messages, and would name C# properties.)
/// Settings read before or outside the options binder are parsed here too, so that every message has one shape:
/// <c>VARIABLE must be &lt;what it accepts&gt; (it is '&lt;value&gt;').</c>
/// </summary>
public sealed partial class OptionChecks
{
    private readonly List<string> _failures = [];

    public OptionChecks Range(string setting, long value, long min, long max) =>
        Check(value >= min && value <= max, $"{setting} must be from {min} to {max} (it is {value}).");

    public OptionChecks NotEmpty(string setting, string? value) =>
        Check(!string.IsNullOrWhiteSpace(value), $"{setting} must not be empty.");

    public OptionChecks Check(bool valid, string failure)
    {
        if (!valid)
        {
            _failures.Add(failure);
        }

        return this;
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; unset (null or blank) gives the default.</summary>
    public int WholeNumber(string setting, string? text, int fallback, int min, int max)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        Check(false, $"{setting} must be from {min} to {max} (it is '{text}').");
        return fallback;
    }

    /// <summary>A TCP port, 1 to 65535; null when unset.</summary>
    public int? Port(string setting, string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535)
        {
            return port;
        }

        Check(false, PortFailure(setting, text));
        return null;
    }

    /// <summary><c>true</c> or <c>false</c> (any case, as the configuration binder reads them); null when unset.</summary>
    public bool? Boolean(string setting, string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (bool.TryParse(text, out var value))
        {
            return value;
        }

        Check(false, BooleanFailure(setting, text));
        return null;
    }

    /// <summary><c>classic</c> or <c>fast</c> (any case); unset is classic.</summary>
    public Profile Profile(string setting, string? text)
    {
        if (Profiles.TryParse(text ?? "classic", out var profile))
        {
            return profile;
        }

        Check(false, Profiles.Failure(setting, text));
        return profile;
    }

    /// <summary>
    /// The one boolean rule of every setting, the launcher's too: <c>true</c> or <c>false</c>, any case, as the
    /// configuration binder reads the options' booleans (it refuses <c>1</c> and <c>yes</c>, so they are refused everywhere).
    /// </summary>
    public static string BooleanFailure(string setting, string? text) => $"{setting} must be true or false (it is '{text}').";

    public static string PortFailure(string setting, string? text) => $"{setting} must be a port from 1 to 65535 (it is '{text}').";

    public ValidateOptionsResult Result => _failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_failures);

    /// <summary>Every failure at once, as the options' start validation reports them (exit code 2, <see cref="ServiceProgram.IsBadSetting"/>).</summary>
    public void ThrowIfFailed<T>()
    {
        if (_failures.Count > 0)
        {
            throw new OptionsValidationException(typeof(T).Name, typeof(T), _failures);
        }
    }

    /// <summary>
    /// The binder's "Failed to convert configuration value 'abc' at 'RNG_DELAY_MS' to type 'System.Int32'." in the
    /// options' words: <c>RNG_DELAY_MS must be a whole number (it is 'abc').</c> (their ranges are checked once it is one).
    /// </summary>
    public static string? Unconvertible(Exception e)
    {
        if (e is not InvalidOperationException { InnerException: FormatException or OverflowException or ArgumentException }
            || UnconvertibleValue().Match(e.Message) is not { Success: true } match)
        {
            return null;
        }

        var accepted = match.Groups["type"].Value switch
        {
            "System.Int32" or "System.Int64" => "a whole number",
            "System.Double" => "a number",
            "System.Boolean" => "true or false",
            var type => "a " + type,
        };
        return $"{match.Groups["setting"].Value} must be {accepted} (it is '{match.Groups["value"].Value}').";
    }

    [GeneratedRegex(@"^Failed to convert configuration value '(?<value>.*)' at '(?<setting>[^']*)' to type '(?<type>[^']*)'\.$", RegexOptions.Singleline)]
    private static partial Regex UnconvertibleValue();
}
