using System.Reflection;

namespace RamCoin.Hosting;

/// <summary>Who answers: the service name, the host (the pod name in Kubernetes) and the version.</summary>
public sealed record ServiceIdentity(string Service, string HostName, string Version)
{
    /// <summary>What every RamCoin header's name starts with (the worker reads only these); the names below are made from it.</summary>
    public const string HeaderPrefix = "X-RamCoin-";

    /// <summary>Header that names the instance that answered (the pod name), so callers can see load balancing.</summary>
    public const string InstanceHeader = HeaderPrefix + "Instance";

    /// <summary>Header with the answering service's version, so a rolling update shows up where the calls land.</summary>
    public const string VersionHeader = HeaderPrefix + "Version";

    /// <summary>Requests the service serves at once (rng: RNG_CONCURRENCY); absent: no limit. For the dashboard's expected ceiling.</summary>
    public const string ConcurrencyHeader = HeaderPrefix + "Concurrency";

    /// <summary>The configured time one request holds its place (rng, hasher: their delay), as set now.</summary>
    public const string ServiceMsHeader = HeaderPrefix + "Service-Ms";

    /// <summary>RAMCOIN_EXTRA_LATENCY_MS when above 0: added before the service's own work, outside its concurrency limit.</summary>
    public const string ExtraLatencyMsHeader = HeaderPrefix + "Extra-Latency-Ms";

    /// <summary>The longest RAMCOIN_VERSION: it goes in every response's header and on the dashboard.</summary>
    public const int MaxVersionLength = 128;

    /// <param name="version">RAMCOIN_VERSION from configuration (environment included); else the assembly version.</param>
    /// <exception cref="OptionsValidationException">The version cannot be a header value: every response would fail.</exception>
    public static ServiceIdentity For(string service, string? version = null)
    {
        if (string.IsNullOrWhiteSpace(version))
        {
            return new(service, Environment.MachineName, DefaultVersion());
        }

        version = version.Trim();
        if (version.Length > MaxVersionLength || !version.All(c => c is >= ' ' and <= '~'))
        {
            throw new OptionsValidationException("RAMCOIN_VERSION", typeof(ServiceIdentity), [
                $"RAMCOIN_VERSION must be printable ASCII of at most {MaxVersionLength} characters, such as 1.4.2 or v2-rc1 (it is '{Printable(version)}').",
            ]);
        }

        return new(service, Environment.MachineName, version);
    }

    /// <summary>Control characters escaped, so that the message stays on one line.</summary>
    private static string Printable(string value) =>
        string.Concat(value.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    private static string DefaultVersion()
    {
        var informational = typeof(ServiceIdentity).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        // The SDK appends "+<commit>"; the short form is what people compare.
        return informational?.Split('+')[0] ?? "0.0.0";
    }
}
