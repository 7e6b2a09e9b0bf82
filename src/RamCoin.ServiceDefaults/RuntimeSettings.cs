using Microsoft.Extensions.Configuration;

namespace RamCoin.ServiceDefaults;

/// <summary>
/// Settings changed at run time through the admin API: the last configuration source, so it wins over the
/// environment; a change reloads the configuration, and options read through IOptionsMonitor follow.
/// </summary>
public sealed class RuntimeSettings : ConfigurationProvider, IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    /// <summary>Applies the values and reloads; answers what they replaced, to put back if they prove invalid.</summary>
    public Dictionary<string, string?> Apply(IReadOnlyDictionary<string, string?> values)
    {
        var previous = new Dictionary<string, string?>();
        lock (Data)
        {
            foreach (var (key, value) in values)
            {
                previous[key] = Data.TryGetValue(key, out var old) ? old : null;
                if (value is null)
                {
                    Data.Remove(key);
                }
                else
                {
                    Data[key] = value;
                }
            }
        }

        OnReload();
        return previous;
    }
}
