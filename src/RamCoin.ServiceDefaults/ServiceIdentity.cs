using System.Reflection;

namespace RamCoin.ServiceDefaults;

/// <summary>Who answers: the service name, the host (the pod name in Kubernetes) and the version.</summary>
public sealed record ServiceIdentity(string Service, string HostName, string Version)
{
    public static ServiceIdentity For(string service, string? version = null) =>
        new(service, Environment.MachineName, version ?? DefaultVersion());

    private static string DefaultVersion()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("RAMCOIN_VERSION");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return fromEnvironment.Trim();
        }

        var informational = typeof(ServiceIdentity).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        // The SDK appends "+<commit>"; the short form is what people compare.
        return informational?.Split('+')[0] ?? "0.0.0";
    }
}
