using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;

namespace RamCoin.Bench;

public sealed record HarnessOptions(
    int Seconds, int Warmup, int WrkSeconds, int? Loops, IReadOnlyList<string> Layouts, bool SkipReferences,
    string? ExternalRng, string? ExternalHasher, double? ExternalPipelineRate, IReadOnlyList<string> Env);

/// <summary>One pipeline run: the rate (median of 1-second windows), the worker's view of its peers, each process's CPU and RSS.</summary>
public sealed record PipelineResult(string Layout, double MedianRate, double MinRate, double MaxRate, double RngP50, double RngP99, double HasherP50, double HasherP99, IReadOnlyList<(string Name, double Cores, double RssMiB)> Processes);

public static class Harness
{
    private static readonly string[] AotServices = ["rng", "hasher", "worker", "webui"];
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(HarnessOptions options, CancellationToken cancellationToken)
    {
        var root = RepoRoot();
        Console.WriteLine($"ramcoin-bench: {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}; building Release ...");
        await ShAsync("dotnet", ["build", Path.Combine(root, "src/RamCoin/RamCoin.csproj"), "-c", "Release", "-nologo", "-v", "q", "--disable-build-servers"]);
        var launcher = Path.Combine(root, "src/RamCoin/bin/Release/net10.0/ramcoin.dll");
        if (options.Layouts.Contains("processes"))
        {
            foreach (var service in AotServices)
            {
                var project = $"RamCoin.{(service == "webui" ? "WebUI" : char.ToUpperInvariant(service[0]) + service[1..])}";
                Console.WriteLine($"ramcoin-bench: publishing {project} (Native AOT) ...");
                await ShAsync("dotnet", ["publish", Path.Combine(root, $"src/{project}/{project}.csproj"), "-c", "Release", "-r", "linux-x64", "-p:DebugType=none", "-o", Path.Combine(root, "bench/out", service), "-nologo", "-v", "q", "--disable-build-servers"]);
            }
        }

        var report = new StringBuilder();
        double? l = null, bareGet = null, barePost = null, rngRate = null, hasherRate = null, rngAot = null, hasherAot = null;
        if (!options.SkipReferences)
        {
            Console.WriteLine("ramcoin-bench: references with wrk -t2 -c16 ...");
            await using (var bare = new Child("bare", "dotnet", [typeof(Harness).Assembly.Location, "bare", "--port", (Ports.Next() is var p ? p : 0).ToString(Inv)]))
            {
                var url = await WaitForUrlAsync(bare, p, "/32");
                bareGet = await Wrk.RateAsync(url + "32", post: false, options.WrkSeconds);
                barePost = await Wrk.RateAsync(url, post: true, options.WrkSeconds);
                l = 1 / ((1 / bareGet.Value) + (1 / barePost.Value));
            }

            rngRate = await ServiceRateAsync("rng", launcher, options, post: false, aot: null);
            hasherRate = await ServiceRateAsync("hasher", launcher, options, post: true, aot: null);
            if (options.Layouts.Contains("processes"))
            {
                rngAot = await ServiceRateAsync("rng", launcher, options, post: false, aot: Path.Combine(root, "bench/out/rng/RamCoin.Rng"));
                hasherAot = await ServiceRateAsync("hasher", launcher, options, post: true, aot: Path.Combine(root, "bench/out/hasher/RamCoin.Hasher"));
            }
        }

        var external = new List<(string Name, double Rate)>();
        if (options.ExternalRng is not null)
        {
            external.Add(("external rng GET", await Wrk.RateAsync(options.ExternalRng, post: false, options.WrkSeconds)));
        }

        if (options.ExternalHasher is not null)
        {
            external.Add(("external hasher POST", await Wrk.RateAsync(options.ExternalHasher, post: true, options.WrkSeconds)));
        }

        var results = new List<PipelineResult>();
        foreach (var layout in options.Layouts)
        {
            Console.WriteLine($"ramcoin-bench: pipeline, {layout}, {options.Warmup} s warm-up + {options.Seconds} s ...");
            results.Add(await PipelineAsync(layout, root, launcher, options, cancellationToken));
        }

        // The report: one table, every ratio from this run.
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"## RamCoin benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores");
        report.AppendLine();
        if (l is not null)
        {
            report.AppendLine("| reference (wrk -t2 -c16) | req/s | ratio to bare |");
            report.AppendLine("|---|---:|---:|");
            report.AppendLine(Inv, $"| bare Kestrel GET /32 | {bareGet:F0} | 1.00 |");
            report.AppendLine(Inv, $"| bare Kestrel POST / (32 bytes) | {barePost:F0} | 1.00 |");
            report.AppendLine(Inv, $"| RamCoin rng GET /32 (launcher, JIT) | {rngRate:F0} | {rngRate / bareGet:F2} |");
            report.AppendLine(Inv, $"| RamCoin hasher POST / (launcher, JIT) | {hasherRate:F0} | {hasherRate / barePost:F2} |");
            if (rngAot is not null)
            {
                report.AppendLine(Inv, $"| RamCoin rng GET /32 (Native AOT) | {rngAot:F0} | {rngAot / bareGet:F2} |");
                report.AppendLine(Inv, $"| RamCoin hasher POST / (Native AOT) | {hasherAot:F0} | {hasherAot / barePost:F2} |");
            }

            foreach (var (name, rate) in external)
            {
                report.AppendLine(Inv, $"| {name} | {rate:F0} | {rate / (name.Contains("GET", StringComparison.Ordinal) ? bareGet : barePost):F2} |");
            }

            report.AppendLine(Inv, $"| L = 1/(1/GET + 1/POST) | {l:F0} | |");
            report.AppendLine();
        }

        report.AppendLine("| pipeline (fast profile) | hashes/s (median of 1 s) | min–max | ratio to L | ratio to 757 | rng p50/p99 ms | hasher p50/p99 ms | CPU cores, RSS MiB per process |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in results)
        {
            var processes = string.Join("; ", r.Processes.Select(p => $"{p.Name} {p.Cores:F2}, {p.RssMiB:F0}"));
            report.AppendLine(Inv, $"| {r.Layout} | {r.MedianRate:F0} | {r.MinRate:F0}–{r.MaxRate:F0} | {(l is null ? "" : (r.MedianRate / l.Value).ToString("F2", Inv))} | {r.MedianRate / 757:F1}× | {r.RngP50:F2}/{r.RngP99:F2} | {r.HasherP50:F2}/{r.HasherP99:F2} | {processes} |");
        }

        if (options.ExternalPipelineRate is double externalPipeline)
        {
            report.AppendLine();
            report.AppendLine(Inv, $"External pipeline {externalPipeline:F0} hashes/s: RamCoin's best is {results.Max(r => r.MedianRate) / externalPipeline:F1}× that.");
        }

        report.AppendLine();
        report.AppendLine("757 hashes/s: DockerCoins with its sleeps removed, four workers, this machine (the Speed issue's figure); pass --external-pipeline-rate with a figure measured in the same run.");
        Console.Write(report.ToString());
        return 0;
    }

    private static async Task<double> ServiceRateAsync(string service, string launcher, HarnessOptions options, bool post, string? aot)
    {
        var port = Ports.Next();
        var environment = Settings(options);
        environment["RAMCOIN_PROFILE"] = "fast";
        Child child;
        if (aot is null)
        {
            child = new Child(service, "dotnet", [launcher, service, "--profile", "fast", $"--{service}-port", port.ToString(Inv)], environment);
        }
        else
        {
            environment["ASPNETCORE_HTTP_PORTS"] = port.ToString(Inv);
            child = new Child(service, aot, [], environment);
        }

        await using (child)
        {
            var url = await WaitForUrlAsync(child, port, "/healthz");
            // Warm the JIT and the connection pool before the measured run.
            await Wrk.RateAsync(post ? url : url + "32", post, 2);
            return await Wrk.RateAsync(post ? url : url + "32", post, options.WrkSeconds);
        }
    }

    private static async Task<PipelineResult> PipelineAsync(string layout, string root, string launcher, HarnessOptions options, CancellationToken cancellationToken)
    {
        var ports = new Dictionary<string, int> { ["store"] = Ports.Next(), ["rng"] = Ports.Next(), ["hasher"] = Ports.Next(), ["worker"] = Ports.Next(), ["webui"] = Ports.Next() };
        var environment = Settings(options);
        environment["RAMCOIN_PROFILE"] = "fast";
        if (options.Loops is int n)
        {
            environment["WORKER_CONCURRENCY"] = n.ToString(Inv);
        }

        var children = new List<Child>();
        try
        {
            if (layout == "all")
            {
                children.Add(new Child("ramcoin (all five)", "dotnet", [launcher, "--profile", "fast", "--in-memory",
                    "--store-port", Str(ports["store"]), "--rng-port", Str(ports["rng"]), "--hasher-port", Str(ports["hasher"]),
                    "--worker-port", Str(ports["worker"]), "--webui-port", Str(ports["webui"])], environment));
            }
            else
            {
                children.Add(new Child("store", "dotnet", [launcher, "store", "--in-memory", "--store-port", Str(ports["store"])], environment));
                environment["REDIS_HOST"] = "127.0.0.1";
                environment["REDIS_PORT"] = Str(ports["store"]);
                environment["RNG_URL"] = $"http://127.0.0.1:{ports["rng"]}";
                environment["HASHER_URL"] = $"http://127.0.0.1:{ports["hasher"]}";
                environment["WORKER_URL"] = $"http://127.0.0.1:{ports["worker"]}";
                foreach (var service in new[] { "rng", "hasher", "webui", "worker" })
                {
                    var binary = Path.Combine(root, "bench/out", service, "RamCoin." + (service == "webui" ? "WebUI" : char.ToUpperInvariant(service[0]) + service[1..]));
                    children.Add(new Child(service, binary, [], new Dictionary<string, string>(environment) { ["ASPNETCORE_HTTP_PORTS"] = Str(ports[service]) }));
                }
            }

            using var store = await ConnectAsync(ports["store"], children);
            var db = store.GetDatabase();
            await Task.Delay(TimeSpan.FromSeconds(options.Warmup), cancellationToken);
            children.ForEach(c => c.MarkCpu());
            // The worker's own count (/status), not the store's: the store moves once a second, in steps.
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports["worker"]}/") };
            async Task<long> ComputedAsync()
            {
                using var status = JsonDocument.Parse(await http.GetStringAsync("status", cancellationToken));
                return status.RootElement.GetProperty("hashesComputed").GetInt64();
            }
            var rates = new List<double>();
            var last = await ComputedAsync();
            var lastAt = Stopwatch.GetTimestamp();
            for (var i = 0; i < options.Seconds; i++)
            {
                await Task.Delay(1000, cancellationToken);
                var now = await ComputedAsync();
                var at = Stopwatch.GetTimestamp();
                rates.Add((now - last) / Stopwatch.GetElapsedTime(lastAt, at).TotalSeconds);
                (last, lastAt) = (now, at);
            }

            var processes = children.Select(c => (c.Name, c.CoresSinceMark(), c.RssMiB())).ToList();
            var (rngP50, rngP99, hasherP50, hasherP99) = await LatencyAsync(db);
            return new PipelineResult(layout, Stats.Median(rates), rates.Min(), rates.Max(), rngP50, rngP99, hasherP50, hasherP99, processes);
        }
        finally
        {
            // Stop in reverse: the worker before the store.
            for (var i = children.Count - 1; i >= 0; i--)
            {
                await children[i].DisposeAsync();
            }
        }
    }

    /// <summary>The worker's own measurement of its calls (p50 and p99 over its last seconds), as it publishes it for the dashboard.</summary>
    private static async Task<(double, double, double, double)> LatencyAsync(IDatabase db)
    {
        var reports = await db.HashValuesAsync("ramcoin:worker:telemetry");
        if (reports.Length == 0)
        {
            return (0, 0, 0, 0);
        }

        using var json = JsonDocument.Parse((string)reports[0]!);
        var rng = json.RootElement.GetProperty("rng");
        var hasher = json.RootElement.GetProperty("hasher");
        static double Get(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetDouble() : double.NaN;
        return (Get(rng, "p50Ms"), Get(rng, "p99Ms"), Get(hasher, "p50Ms"), Get(hasher, "p99Ms"));
    }

    private static async Task<ConnectionMultiplexer> ConnectAsync(int port, List<Child> children)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (children.FirstOrDefault(c => c.HasExited) is { } dead)
            {
                throw new InvalidOperationException($"{dead.Name} exited: {dead.LastError}");
            }

            try
            {
                return await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},abortConnect=true,connectTimeout=1000");
            }
            catch (RedisConnectionException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
            }
        }
    }

    private static async Task<string> WaitForUrlAsync(Child child, int port, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var url = $"http://127.0.0.1:{port}/";
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (child.HasExited)
            {
                throw new InvalidOperationException($"{child.Name} exited: {child.LastError}");
            }

            try
            {
                using var response = await http.GetAsync(url + path.TrimStart('/'));
                if (response.IsSuccessStatusCode)
                {
                    return url;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{child.Name} did not answer on {url}");
    }

    private static Dictionary<string, string> Settings(HarnessOptions options) =>
        options.Env.Select(e => e.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);

    private static string Str(int value) => value.ToString(Inv);

    private static async Task ShAsync(string file, IEnumerable<string> args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', info.ArgumentList)} failed: {await output}{await error}");
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RamCoin.slnx")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
