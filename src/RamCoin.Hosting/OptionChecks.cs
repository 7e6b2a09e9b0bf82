using Microsoft.Extensions.Options;

namespace RamCoin.Hosting;

/// <summary>
/// Collects what is wrong with a set of options, naming each setting by the environment variable people set.
/// (The source-generated DataAnnotations validator ignores custom messages, and would name C# properties.)
/// </summary>
public sealed class OptionChecks
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

    public ValidateOptionsResult Result => _failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_failures);
}
