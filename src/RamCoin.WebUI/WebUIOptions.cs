namespace RamCoin.WebUI;

public sealed class WebUIOptions
{
    /// <summary>
    /// The folder of static files served as the page; default: the <c>webui</c> folder beside the program.
    /// Point it at <c>src/RamCoin.WebUI/files</c> (or a mounted volume) to edit the page live.
    /// </summary>
    [ConfigurationKeyName("WEBUI_FILES")]
    public string? FilesPath { get; set; }

    /// <summary>Where the dashboard's knob controls reach rng, hasher and a worker (their admin APIs).</summary>
    [ConfigurationKeyName("RNG_URL")]
    public string RngUrl { get; set; } = PeerAddresses.Container.RngUrl;

    [ConfigurationKeyName("HASHER_URL")]
    public string HasherUrl { get; set; } = PeerAddresses.Container.HasherUrl;

    /// <summary>In Kubernetes this reaches one worker replica behind the Service.</summary>
    [ConfigurationKeyName("WORKER_URL")]
    public string WorkerUrl { get; set; } = PeerAddresses.Container.WorkerUrl;

    /// <summary>Open <c>/events</c> streams at most (a classroom projects one dashboard to many laptops); past it the
    /// web UI answers 503 with Retry-After and the page polls <c>dashboard.json</c> instead.</summary>
    [ConfigurationKeyName("WEBUI_MAX_STREAMS")]
    public int MaxStreams { get; set; } = 10_000;

    /// <summary>The workers' coin prefix, which the dashboard checks the wallet's latest coins against.</summary>
    [ConfigurationKeyName(CoinDifficulty.Setting)]
    public string Difficulty { get; set; } = CoinDifficulty.Classic;

    public string? UrlOf(string service) => service switch
    {
        "rng" => RngUrl,
        "hasher" => HasherUrl,
        "worker" => WorkerUrl,
        _ => null,
    };

    public string ResolveFilesPath() =>
        Path.GetFullPath(string.IsNullOrWhiteSpace(FilesPath) ? Path.Combine(AppContext.BaseDirectory, "webui") : FilesPath);

}

public sealed class WebUIOptionsValidator : IValidateOptions<WebUIOptions>
{
    public ValidateOptionsResult Validate(string? name, WebUIOptions options) =>
        new OptionChecks()
            .Check(Directory.Exists(options.ResolveFilesPath()), $"WEBUI_FILES: the folder '{options.ResolveFilesPath()}' does not exist.")
            .Range("WEBUI_MAX_STREAMS", options.MaxStreams, 1, 1_000_000)
            .Check(CoinDifficulty.IsValid(options.Difficulty), CoinDifficulty.Failure(options.Difficulty))
            .Check(PeerAddresses.IsHttpUrl(options.RngUrl), PeerAddresses.UrlFailure("RNG_URL", options.RngUrl))
            .Check(PeerAddresses.IsHttpUrl(options.HasherUrl), PeerAddresses.UrlFailure("HASHER_URL", options.HasherUrl))
            .Check(PeerAddresses.IsHttpUrl(options.WorkerUrl), PeerAddresses.UrlFailure("WORKER_URL", options.WorkerUrl))
            .Result;
}
