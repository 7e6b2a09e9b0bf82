using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

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
    public string RngUrl { get; set; } = "http://rng";

    [ConfigurationKeyName("HASHER_URL")]
    public string HasherUrl { get; set; } = "http://hasher";

    /// <summary>In Kubernetes this reaches one worker replica behind the Service.</summary>
    [ConfigurationKeyName("WORKER_URL")]
    public string WorkerUrl { get; set; } = "http://worker";

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
        Directory.Exists(options.ResolveFilesPath())
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"WEBUI_FILES: the folder '{options.ResolveFilesPath()}' does not exist.");
}
