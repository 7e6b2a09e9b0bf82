using System.Reflection;

namespace RamCoin.Hosting;

/// <summary>Who answers: the service name, the host (the pod name in Kubernetes) and the version.</summary>
public sealed record ServiceIdentity(string Service, string HostName, string Version)
{
    /// <summary>Header that names the instance that answered (the pod name), so callers can see load balancing.</summary>
    public const string InstanceHeader = "X-RamCoin-Instance";

    /// <summary>Header with the answering service's version, so a rolling update shows up where the calls land.</summary>
    public const string VersionHeader = "X-RamCoin-Version";

    /// <param name="version">RAMCOIN_VERSION from configuration (environment included); else the assembly version.</param>
    public static ServiceIdentity For(string service, string? version = null) =>
        new(service, Environment.MachineName, string.IsNullOrWhiteSpace(version) ? DefaultVersion() : version.Trim());

    private static string DefaultVersion()
    {
        var informational = typeof(ServiceIdentity).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        // The SDK appends "+<commit>"; the short form is what people compare.
        return informational?.Split('+')[0] ?? "0.0.0";
    }
}
