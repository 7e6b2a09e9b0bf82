using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace RamCoin.Hosting;

/// <summary>A setting that can change at run time: its name, its value in effect (its options, validated as they are read).</summary>
public sealed record Knob(string Name, Func<IServiceProvider, string?> Current)
{
    /// <summary>Registers the <see cref="KnobAttribute"/> properties of an options class, read from its options (so a bad value fails their validation).</summary>
    internal static void AddAll<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor | DynamicallyAccessedMemberTypes.PublicProperties)] TOptions>(IServiceCollection services)
        where TOptions : class
    {
        foreach (var property in typeof(TOptions).GetProperties())
        {
            if (property.IsDefined(typeof(KnobAttribute)))
            {
                var name = property.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name
                    ?? throw new InvalidOperationException($"{typeof(TOptions).Name}.{property.Name} is a knob without a ConfigurationKeyName.");
                services.AddSingleton(new Knob(name, sp =>
                    Convert.ToString(property.GetValue(sp.GetRequiredService<IOptionsMonitor<TOptions>>().CurrentValue), CultureInfo.InvariantCulture)));
            }
        }
    }
}

/// <summary>
/// Marks an options property as a <see cref="Knob"/> that the admin API shows and changes, named by its
/// <see cref="ConfigurationKeyNameAttribute"/>: the name it binds from is the name it is changed by.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class KnobAttribute : Attribute;
