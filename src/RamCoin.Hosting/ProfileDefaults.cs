using Microsoft.Extensions.Configuration.Memory;

namespace RamCoin.Hosting;

/// <summary>
/// A profile is a configuration layer: the values a service takes in it, added as the lowest source of its
/// configuration, so that every variable, command-line option and launcher setting still wins over them. Each service
/// says its own values (<c>AddRng</c>, <c>AddWorker</c>...); classic is the options' own defaults.
/// </summary>
public static class ProfileDefaults
{
    public static IHostApplicationBuilder AddProfileDefaults(
        this IHostApplicationBuilder builder, Profile profile, IReadOnlyDictionary<string, string?> values)
    {
        // A bad RAMCOIN_PROFILE adds no layer: the start refuses it (HostingOptions), named by its variable.
        if (Profiles.TryParse(builder.Configuration[HostingOptions.ProfileSetting], out var current) && current == profile)
        {
            builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = values });
        }

        return builder;
    }
}
