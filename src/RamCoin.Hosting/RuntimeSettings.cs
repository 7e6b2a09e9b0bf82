namespace RamCoin.Hosting;

/// <summary>
/// Settings changed at run time through the admin API: the last configuration source, so it wins over the
/// environment; a change reloads the configuration, and options read through IOptionsMonitor follow.
/// </summary>
public sealed class RuntimeSettings : ConfigurationProvider, IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    /// <summary>Sets the values without reloading; answers what they replaced, to put back if they prove invalid.</summary>
    public Dictionary<string, string?> Set(IReadOnlyDictionary<string, string?> values)
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

        return previous;
    }

    /// <summary>Tells the configuration's listeners (IOptionsMonitor) to read again; they validate as they do.</summary>
    public void Reload() => OnReload();
}
