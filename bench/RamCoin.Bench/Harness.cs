using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using RamCoin.StoreContract;
using StackExchange.Redis;

namespace RamCoin.Bench;

public sealed record HarnessOptions(
    int Seconds, int Warmup, int WrkSeconds, int? Loops, IReadOnlyList<string> Layouts, bool SkipReferences,
    string? ExternalRng, string? ExternalHasher, string? ExternalServices, string? ExternalWorkers, string ExternalStore, IReadOnlyList<string> Env, bool NoPublish);

/// <summary>One pipeline run: the rate (median of 1-second windows), the worker's view of its peers, each process's CPU and RSS.</summary>
public sealed record PipelineResult(string Layout, double MedianRate, double MinRate, double MaxRate, double RngP50, double RngP99, double HasherP50, double HasherP99, IReadOnlyList<(string Name, double Cores, double RssMiB)> Processes);

public static class Harness
{
    private static readonly string[] AotServices = ["rng", "hasher", "worker", "webui"];
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<int> RunAsync(HarnessOptions options, CancellationToken cancellationToken)
    {
        if (options.Layouts.FirstOrDefault(l => l is not ("all" or "processes" or "processes-http1")) is { } unknown)
        {
            Console.Error.WriteLine($"ramcoin-bench: --layouts: '{unknown}' is not a layout (all, processes, processes-http1).");
            return 2;
        }

        var root = RepoRoot();
        Console.WriteLine($"ramcoin-bench: {Environment.ProcessorCount} cores, {DateTime.UtcNow:u}; building Release ...");
        await ShAsync("dotnet", ["build", Path.Combine(root, "src/RamCoin/RamCoin.csproj"), "-c", "Release", "-nologo", "-v", "q", "--disable-build-servers"]);
        var launcher = Path.Combine(root, "src/RamCoin/bin/Release/net10.0/ramcoin.dll");
        if (options.Layouts.Any(l => l.StartsWith("processes", StringComparison.Ordinal)) && !options.NoPublish)
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
            if (options.Layouts.Any(l => l.StartsWith("processes", StringComparison.Ordinal)))
            {
                rngAot = await ServiceRateAsync("rng", launcher, options, post: false, aot: Path.Combine(root, "bench/out/rng/RamCoin.Rng"));
                hasherAot = await ServiceRateAsync("hasher", launcher, options, post: true, aot: Path.Combine(root, "bench/out/hasher/RamCoin.Hasher"));
            }
        }

        var (external, externalPipeline) = await ExternalAsync(options, cancellationToken);

        // The launcher runs as `dotnet run` runs it: with its launch profile's settings (GC budget, JIT tiering).
        var launchEnv = LaunchSettings(root);
        var results = new List<PipelineResult>();
        foreach (var layout in options.Layouts)
        {
            Console.WriteLine($"ramcoin-bench: pipeline, {layout}, {options.Warmup} s warm-up + {options.Seconds} s ...");
            results.Add(await PipelineAsync(layout, root, launcher, launchEnv, options, cancellationToken));
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

        report.AppendLine("| pipeline (fast profile) | hashes/s (median of 1 s) | min–max | ratio to L | × external | rng p50/p99 ms | hasher p50/p99 ms | CPU cores, RSS MiB per process |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        // The original DockerCoins is the issue's yardstick: measured in this run when given, else the issue's figure.
        var (yardstick, what) = externalPipeline is { MedianRate: > 0 } measured
            ? (measured.MedianRate, $"the external pipeline measured in this run ({options.ExternalWorkers})")
            : (757.0, "DockerCoins with its sleeps removed, four workers, on the Speed issue's day (pass --external-services and --external-workers to measure it in the same run)");
        static string Usage(PipelineResult r) => string.Join("; ", r.Processes.Select(p => $"{p.Name} {p.Cores:F2}, {p.RssMiB:F0}"));
        foreach (var r in results)
        {
            report.AppendLine(Inv, $"| {r.Layout} | {r.MedianRate:F0} | {r.MinRate:F0}–{r.MaxRate:F0} | {(l is null ? "" : (r.MedianRate / l.Value).ToString("F2", Inv))} | {r.MedianRate / yardstick:F1}× | {r.RngP50:F2}/{r.RngP99:F2} | {r.HasherP50:F2}/{r.HasherP99:F2} | {Usage(r)} |");
        }

        if (externalPipeline is { } e)
        {
            report.AppendLine(Inv, $"| external (DockerCoins) | {e.MedianRate:F0} | {e.MinRate:F0}–{e.MaxRate:F0} | {(l is null ? "" : (e.MedianRate / l.Value).ToString("F3", Inv))} | 1.0× | | | {Usage(e)} |");
        }

        report.AppendLine();
        report.AppendLine(Inv, $"Ratio column \"× external\": hashes/s over {yardstick:F0}, {what}.");
        Console.Write(report.ToString());
        return 0;
    }

    /// <summary>
    /// Another system measured in this run: its rng and hasher with wrk while nothing else runs, then its workers'
    /// hashes/s from the growth of its store's <c>hashes</c> counter (DockerCoins' contract), with CPU and RSS.
    /// </summary>
    private static async Task<(List<(string Name, double Rate)> Services, PipelineResult? Pipeline)> ExternalAsync(HarnessOptions options, CancellationToken cancellationToken)
    {
        var rates = new List<(string Name, double Rate)>();
        await using var services = options.ExternalServices is null ? null : Child.Shell("external services", options.ExternalServices);
        if (options.ExternalRng is not null)
        {
            Console.WriteLine($"ramcoin-bench: external rng {options.ExternalRng} ...");
            await WaitForUrlAsync(services, options.ExternalRng);
            rates.Add(("external rng GET", await Wrk.RateAsync(options.ExternalRng, post: false, options.WrkSeconds)));
        }

        if (options.ExternalHasher is not null)
        {
            Console.WriteLine($"ramcoin-bench: external hasher {options.ExternalHasher} ...");
            await WaitForUrlAsync(services, options.ExternalHasher);
            rates.Add(("external hasher POST", await Wrk.RateAsync(options.ExternalHasher, post: true, options.WrkSeconds)));
        }

        if (options.ExternalWorkers is null)
        {
            return (rates, null);
        }

        Console.WriteLine($"ramcoin-bench: external pipeline, {options.Warmup} s warm-up + {options.Seconds} s ...");
        await using var workers = Child.Shell("external workers", options.ExternalWorkers);
        var children = new List<Child> { workers };
        using var store = await ConnectAsync(options.ExternalStore, services is null ? children : [services, workers]);
        var db = store.GetDatabase();
        await Task.Delay(TimeSpan.FromSeconds(options.Warmup), cancellationToken);
        // Every process of both commands (their sessions), for CPU and RSS.
        var processes = Sessions([.. services is null ? [] : new[] { services }, workers]);
        // A process that ends meanwhile (a short-lived helper of the command) drops out of the figures.
        static double? Cpu(int pid) { try { return ProcStat.CpuSeconds(pid); } catch (IOException) { return null; } }
        static double? Rss(int pid) { try { return ProcStat.RssMiB(pid); } catch (Exception e) when (e is IOException or InvalidOperationException) { return null; } }
        var cpuBefore = processes.ToDictionary(p => p.Pid, p => Cpu(p.Pid));
        var started = Stopwatch.GetTimestamp();
        var windows = new List<double>();
        // Another system's store: a reading that is not a sane counter skips its second (StoreReadings warns once).
        var last = await StoreReadings.CounterAsync(db, StoreKeys.Hashes);
        var lastAt = Stopwatch.GetTimestamp();
        for (var i = 0; i < options.Seconds; i++)
        {
            await Task.Delay(1000, cancellationToken);
            var now = await StoreReadings.CounterAsync(db, StoreKeys.Hashes);
            var at = Stopwatch.GetTimestamp();
            if (StoreReadings.Rate(StoreKeys.Hashes, last, now, Stopwatch.GetElapsedTime(lastAt, at).TotalSeconds) is double rate)
            {
                windows.Add(rate);
            }

            (last, lastAt) = (now, at);
        }

        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var usage = processes
            .Select(p => (Name: $"{p.Name}[{p.Pid}]", Cores: (Cpu(p.Pid) - cpuBefore[p.Pid]) / elapsed, Rss: Rss(p.Pid)))
            .Where(p => p.Cores is double && p.Rss is double && (p.Cores > 0.005 || p.Rss > 5))
            .Select(p => (p.Name, Cores: p.Cores!.Value, Rss: p.Rss!.Value))
            .ToList();
        usage.Add(("total", usage.Sum(p => p.Cores), usage.Sum(p => p.Rss)));
        return (rates, new PipelineResult("external", Stats.Median(windows), windows.DefaultIfEmpty().Min(), windows.DefaultIfEmpty().Max(), 0, 0, 0, 0, usage));
    }

    /// <summary>The processes of the sessions these shell commands lead (their python, ruby, redis-server).</summary>
    private static List<(int Pid, string Name)> Sessions(IEnumerable<Child> leaders)
    {
        var sessions = leaders.Select(c => c.Pid).ToHashSet();
        var found = new List<(int Pid, string Name)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (sessions.Contains(int.Parse(fields[3], Inv)))
                {
                    found.Add((pid, File.ReadAllText(Path.Combine(dir, "comm")).Trim()));
                }
            }
            catch (IOException)
            {
                // The process ended while listed.
            }
        }

        return found;
    }

    private static async Task<double> ServiceRateAsync(string service, string launcher, HarnessOptions options, bool post, string? aot)
    {
        var port = Ports.Next();
        var environment = Settings(options, service);
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

    private static async Task<PipelineResult> PipelineAsync(string layout, string root, string launcher, Dictionary<string, string> launchEnv, HarnessOptions options, CancellationToken cancellationToken)
    {
        var ports = new Dictionary<string, int> { ["store"] = Ports.Next(), ["rng"] = Ports.Next(), ["hasher"] = Ports.Next(), ["worker"] = Ports.Next(), ["webui"] = Ports.Next() };
        var environment = Settings(options, start: new Dictionary<string, string>(launchEnv));
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
                children.Add(new Child("store", "dotnet", [launcher, "store", "--in-memory", "--store-port", Str(ports["store"])], Settings(options, "store", new Dictionary<string, string>(environment))));
                environment["REDIS_HOST"] = "127.0.0.1";
                environment["REDIS_PORT"] = Str(ports["store"]);
                // "processes": the worker calls rng and hasher on their h2c ports, as the fast profile does in one
                // process; "processes-http1": on their HTTP/1.1 ports, DockerCoins' protocol.
                var h2c = layout != "processes-http1";
                ports["rng-h2c"] = Ports.Next();
                ports["hasher-h2c"] = Ports.Next();
                environment["RNG_URL"] = h2c ? $"h2c://127.0.0.1:{ports["rng-h2c"]}" : $"http://127.0.0.1:{ports["rng"]}";
                environment["HASHER_URL"] = h2c ? $"h2c://127.0.0.1:{ports["hasher-h2c"]}" : $"http://127.0.0.1:{ports["hasher"]}";
                environment["WORKER_URL"] = $"http://127.0.0.1:{ports["worker"]}";
                foreach (var service in new[] { "rng", "hasher", "webui", "worker" })
                {
                    var binary = Path.Combine(root, "bench/out", service, "RamCoin." + (service == "webui" ? "WebUI" : char.ToUpperInvariant(service[0]) + service[1..]));
                    var own = new Dictionary<string, string>(environment) { ["ASPNETCORE_HTTP_PORTS"] = Str(ports[service]) };
                    if (h2c && service is "rng" or "hasher")
                    {
                        own["RAMCOIN_H2C_PORT"] = Str(ports[service + "-h2c"]);
                    }

                    children.Add(new Child(service, binary, [], Settings(options, service, own)));
                }
            }

            using var store = await ConnectAsync($"127.0.0.1:{ports["store"]}", children);
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
            var (rngP50, rngP99, hasherP50, hasherP99) = await StoreReadings.LatencyAsync(db, StoreKeys.WorkerTelemetry);
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

    private static async Task<ConnectionMultiplexer> ConnectAsync(string endpoint, List<Child> children)
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
                return await ConnectionMultiplexer.ConnectAsync($"{endpoint},abortConnect=true,connectTimeout=1000");
            }
            catch (RedisConnectionException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
            }
        }
    }

    private static async Task<string> WaitForUrlAsync(Child child, int port, string path)
    {
        var url = $"http://127.0.0.1:{port}/";
        await WaitForUrlAsync(child, url + path.TrimStart('/'));
        return url;
    }

    internal static async Task WaitForUrlAsync(Child? child, string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (child is { HasExited: true })
            {
                throw new InvalidOperationException($"{child.Name} exited: {child.LastError}");
            }

            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"{child?.Name ?? url} did not answer on {url}");
    }

    /// <summary>The settings of one process: NAME=VALUE for every process, SERVICE:NAME=VALUE for that service only.</summary>
    private static Dictionary<string, string> Settings(HarnessOptions options, string? service = null, Dictionary<string, string>? start = null)
    {
        var settings = start ?? [];
        foreach (var pair in options.Env.Select(e => e.Split('=', 2)).Where(p => p.Length == 2))
        {
            var scope = pair[0].Split(':', 2);
            if (scope.Length == 1)
            {
                settings[pair[0]] = pair[1];
            }
            else if (scope[0] == service)
            {
                settings[scope[1]] = pair[1];
            }
        }

        return settings;
    }

    /// <summary>The environment of the launcher's launch profile (src/RamCoin/Properties/launchSettings.json).</summary>
    internal static Dictionary<string, string> LaunchSettings(string root)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "src/RamCoin/Properties/launchSettings.json")));
        return json.RootElement.GetProperty("profiles").GetProperty("ramcoin").GetProperty("environmentVariables")
            .EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
    }

    private static string Str(int value) => value.ToString(Inv);

    internal static async Task ShAsync(string file, IEnumerable<string> args)
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

    internal static string RepoRoot()
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
