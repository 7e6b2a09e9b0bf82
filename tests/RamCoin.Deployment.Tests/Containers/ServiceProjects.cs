namespace RamCoin.Tests.Containers;

/// <summary>The four app services' projects, which are also their Native AOT binaries' names: one map for the Dockerfile, image and Native AOT tests.</summary>
public static class ServiceProjects
{
    public static readonly IReadOnlyDictionary<string, string> ByService = new Dictionary<string, string>
    {
        [ServiceNames.Rng] = "RamCoin.Rng",
        [ServiceNames.Hasher] = "RamCoin.Hasher",
        [ServiceNames.Worker] = "RamCoin.Worker",
        [ServiceNames.WebUI] = "RamCoin.WebUI",
    };

    public static string Of(string service) => ByService[service];
}
