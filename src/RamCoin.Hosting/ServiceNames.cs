namespace RamCoin.Hosting;

/// <summary>The component names: launcher targets, log categories and the default peer host names.</summary>
public static class ServiceNames
{
    public const string Rng = "rng";
    public const string Hasher = "hasher";
    public const string Worker = "worker";
    public const string WebUI = "webui";
    public const string Store = "store";

    /// <summary>Every component, in start order: peers before the services that call them.</summary>
    public static readonly IReadOnlyList<string> All = [Store, Rng, Hasher, Worker, WebUI];
}
