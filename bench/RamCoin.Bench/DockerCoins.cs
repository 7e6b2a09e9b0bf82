namespace RamCoin.Bench;

/// <summary>The original DockerCoins in the same run: bench/dockercoins.sh's services and workers on its loopback ports.</summary>
public static class DockerCoins
{
    private static readonly string[] Files = ["rng/rng.py", "hasher/hasher.rb", "worker/worker.py"];

    /// <summary>The harness's external options for a dockercoins folder; null if the folder is not one.</summary>
    public static HarnessOptions? Options(HarnessOptions options, string folder, string root)
    {
        var full = Path.GetFullPath(folder);
        if (!Files.All(f => File.Exists(Path.Combine(full, f))))
        {
            return null;
        }

        var script = Quote(Path.Combine(root, "bench/dockercoins.sh"));
        return options with
        {
            ExternalServices = $"{script} services {Quote(full)}",
            ExternalWorkers = $"{script} workers {Quote(full)}",
            ExternalRng = "http://127.0.0.1:18001/32",
            ExternalHasher = "http://127.0.0.1:18002/",
            ExternalStore = "127.0.0.1:16379",
        };
    }

    /// <summary>A word for bash -c: single-quoted, its own single quotes escaped.</summary>
    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
