using Microsoft.Extensions.Configuration.Memory;

namespace RamCoin;

/// <summary>
/// What the launcher hands one service it hosts: configuration only, as an orchestrator sets a container's
/// environment (Aspire's AppHost). The service reads it as it reads its variables, and never knows who started it.
/// </summary>
public sealed record ServiceConfiguration
{
    private static readonly IReadOnlyDictionary<string, string?> None = new Dictionary<string, string?>();

    public required string Service { get; init; }

    /// <summary>Where its peers are (RNG_URL, REDIS_HOST...): under every other source, so a variable still points elsewhere.</summary>
    public IReadOnlyDictionary<string, string?> Defaults { get; init; } = None;

    /// <summary>Variables given instead of the process's own (tests and benchmarks): over the environment and command line.</summary>
    public IReadOnlyDictionary<string, string?> Variables { get; init; } = None;

    /// <summary>Where it listens, its profile, its socket mode: over everything, so that each hosted service keeps its own port.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = None;

    /// <summary>Command-line arguments (ASP.NET's <c>--urls</c> for a lone service, as in a container).</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>
    /// Additions to the service's container after its own, as WebApplicationFactory's <c>ConfigureServices</c>: tests
    /// add a log they can read. Never a setting: the launcher leaves it empty.
    /// </summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    /// <summary>Adds the launcher's layers to a service's configuration, before the service reads any of it.</summary>
    public void ApplyTo(IConfigurationManager configuration)
    {
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Defaults });
        configuration.AddInMemoryCollection(Variables);
        configuration.AddInMemoryCollection(Settings);
    }
}
