using Microsoft.Extensions.Configuration.Memory;

namespace RamCoin.Hosting;

/// <summary>
/// Settings changed at run time through the admin API: the last configuration source, so it wins over the
/// environment; a change reloads the configuration, and options read through IOptionsMonitor follow.
/// </summary>
public sealed class RuntimeSettings : ConfigurationProvider, IConfigurationSource
{
    /// <summary>Held while a change is checked and applied: two changes never interleave.</summary>
    public Lock Changing { get; } = new();

    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    /// <summary>
    /// The configuration as it would be with <paramref name="values"/> set (null: back to what the sources under
    /// this one say), for a check before <see cref="Apply"/>; <paramref name="configuration"/> is the service's own.
    /// </summary>
    public ConfigurationRoot Preview(IConfigurationRoot configuration, IReadOnlyDictionary<string, string?> values)
    {
        var overrides = values.ToDictionary(v => v.Key, v => v.Value ?? Below(configuration, v.Key), StringComparer.OrdinalIgnoreCase);
        // A null here hides this provider's current value too: the key then reads as unset, as after Apply.
        return (ConfigurationRoot)new ConfigurationBuilder()
            .AddConfiguration(configuration, shouldDisposeConfiguration: false)
            .Add(new MemoryConfigurationSource { InitialData = overrides })
            .Build();
    }

    /// <summary>Sets the values (null removes one) and tells the configuration's listeners (IOptionsMonitor) to read again.</summary>
    public void Apply(IReadOnlyDictionary<string, string?> values)
    {
        // A new dictionary, swapped in whole: readers never see one being changed.
        var data = new Dictionary<string, string?>(Data, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in values)
        {
            if (value is null)
            {
                data.Remove(key);
            }
            else
            {
                data[key] = value;
            }
        }

        Data = data;
        OnReload();
    }

    /// <summary>What the sources before this one say of <paramref name="key"/>.</summary>
    private string? Below(IConfigurationRoot configuration, string key)
    {
        foreach (var provider in configuration.Providers.Reverse())
        {
            if (!ReferenceEquals(provider, this) && provider.TryGet(key, out var value))
            {
                return value;
            }
        }

        return null;
    }
}
