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

/// <summary>One process over a pipeline's measured window: its CPU (cores, and µs per hash mined in the window) and RSS.</summary>
public sealed record ProcessUsage(string Name, double Cores, double RssMiB, double MicrosPerHash);

/// <summary>One pipeline run: the rate (median of 1-second windows), the worker's view of its peers, each process's CPU and RSS.</summary>
public sealed record PipelineResult(string Layout, double MedianRate, double MinRate, double MaxRate, double RngP50, double RngP99, double HasherP50, double HasherP99, IReadOnlyList<ProcessUsage> Processes)
{
    /// <summary>Every process's CPU per hash together.</summary>
    public double MicrosPerHash => Processes.Where(p => p.Name != "total").Sum(p => p.MicrosPerHash);

    /// <summary>Memory read at the end of the measured window (full speed).</summary>
    public IReadOnlyList<MemoryReading> Memory { get; init; } = [];
}

/// <summary>L₂ at one number of concurrent streams per connection: bare Kestrel over h2c with h2load.</summary>
public sealed record H2Reference(int Streams, double Get, double Post)
{
    public double L2 => 1 / ((1 / Get) + (1 / Post));
}

public static class Harness
{
    internal static readonly string[] AotServices = ["rng", "hasher", "worker", "webui"];

    /// <summary>h2load's streams per connection: -m8 and -m32, each with -c16 -t2.</summary>
    private static readonly int[] H2Streams = [8, 32];
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
                var project = Binary(service);
                Console.WriteLine($"ramcoin-bench: publishing {project} (Native AOT) ...");
                await ShAsync("dotnet", ["publish", Path.Combine(root, $"src/{project}/{project}.csproj"), "-c", "Release", "-r", "linux-x64", "-p:DebugType=none", "-o", Path.Combine(root, "bench/out", service), "-nologo", "-v", "q", "--disable-build-servers"]);
            }
        }

        var report = new StringBuilder();
        double? l = null, bareGet = null, barePost = null, rngRate = null, hasherRate = null, rngAot = null, hasherAot = null;
        var h2 = new List<H2Reference>();
        H2Reference? h2Best = null;
        var h2Services = new List<(string Name, double Rate, double Bare)>();
        var aot = options.Layouts.Any(l => l.StartsWith("processes", StringComparison.Ordinal));
        if (!options.SkipReferences)
        {
            Console.WriteLine("ramcoin-bench: references with wrk -t2 -c16 and h2load -c16 -m8/-m32 -t2 ...");
            var (h1Port, h2Port) = (Ports.Next(), Ports.Next());
            await using (var bare = new Child("bare", "dotnet", [typeof(Harness).Assembly.Location, "bare", "--port", Str(h1Port), "--h2c-port", Str(h2Port)]))
            {
                var url = await WaitForUrlAsync(bare, h1Port, "/32");
                bareGet = await Wrk.RateAsync(url + "32", post: false, options.WrkSeconds);
                barePost = await Wrk.RateAsync(url, post: true, options.WrkSeconds);
                l = 1 / ((1 / bareGet.Value) + (1 / barePost.Value));
                var h2Url = $"http://127.0.0.1:{h2Port}/";
                foreach (var streams in H2Streams)
                {
                    h2.Add(new H2Reference(
                        streams,
                        await H2load.RateAsync(h2Url + "32", post: false, streams, options.WrkSeconds),
                        await H2load.RateAsync(h2Url, post: true, streams, options.WrkSeconds)));
                }

                h2Best = h2.MaxBy(r => r.L2);
            }

            rngRate = await ServiceRateAsync("rng", launcher, options, post: false, aot: null, h2Streams: null);
            hasherRate = await ServiceRateAsync("hasher", launcher, options, post: true, aot: null, h2Streams: null);
            if (aot)
            {
                rngAot = await ServiceRateAsync("rng", launcher, options, post: false, aot: AotPath(root, "rng"), h2Streams: null);
                hasherAot = await ServiceRateAsync("hasher", launcher, options, post: true, aot: AotPath(root, "hasher"), h2Streams: null);
            }

            // The services' h2c ports under the reference's load (the -m that gave the higher L₂).
            var m = h2Best!.Streams;
            h2Services.Add(("RamCoin rng GET /32 (launcher, JIT)", await ServiceRateAsync("rng", launcher, options, post: false, aot: null, m), h2Best.Get));
            h2Services.Add(("RamCoin hasher POST / (launcher, JIT)", await ServiceRateAsync("hasher", launcher, options, post: true, aot: null, m), h2Best.Post));
            if (aot)
            {
                h2Services.Add(("RamCoin rng GET /32 (Native AOT)", await ServiceRateAsync("rng", launcher, options, post: false, aot: AotPath(root, "rng"), m), h2Best.Get));
                h2Services.Add(("RamCoin hasher POST / (Native AOT)", await ServiceRateAsync("hasher", launcher, options, post: true, aot: AotPath(root, "hasher"), m), h2Best.Post));
            }
        }

        var (external, externalPipeline) = await ExternalAsync(options, cancellationToken);

        var memory = new List<MemoryReading>();
        if (aot)
        {
            Console.WriteLine("ramcoin-bench: idle memory of the Native AOT binaries (classic profile, 10 s after start) ...");
            memory.AddRange(await MemoryReport.IdleAotAsync(Path.Combine(root, "bench/out"), launcher, options.Env, 10, cancellationToken));
        }

        // The launcher runs as `dotnet run` runs it: with its launch profile's settings (the GC budget).
        var launchEnv = LaunchSettings(root);
        var results = new List<PipelineResult>();
        foreach (var layout in options.Layouts)
        {
            Console.WriteLine($"ramcoin-bench: pipeline, {layout}, {options.Warmup} s warm-up + {options.Seconds} s ...");
            results.Add(await PipelineAsync(layout, root, launcher, launchEnv, options, cancellationToken));
            memory.AddRange(results[^1].Memory);
        }

        // The report: one table, every ratio from this run.
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"## RamCoin benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores");
        report.AppendLine();
        if (l is not null)
        {
            report.AppendLine("| reference (wrk -t2 -c16, HTTP/1.1) | req/s | ratio to bare |");
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
            report.AppendLine("| reference (h2load -c16 -t2, h2c) | -m8 req/s | -m32 req/s |");
            report.AppendLine("|---|---:|---:|");
            string Row(Func<H2Reference, double> pick) => string.Join(" | ", h2.Select(r => pick(r).ToString("F0", Inv)));
            report.AppendLine(Inv, $"| bare Kestrel GET /32 | {Row(r => r.Get)} |");
            report.AppendLine(Inv, $"| bare Kestrel POST / (32 bytes) | {Row(r => r.Post)} |");
            report.AppendLine(Inv, $"| L₂ = 1/(1/GET + 1/POST) | {Row(r => r.L2)} |");
            report.AppendLine();
            report.AppendLine(Inv, $"| service (h2load -c16 -m{h2Best!.Streams} -t2, its h2c port) | req/s | ratio to bare (h2c) |");
            report.AppendLine("|---|---:|---:|");
            foreach (var (name, rate, bare) in h2Services)
            {
                report.AppendLine(Inv, $"| {name} | {rate:F0} | {rate / bare:F2} |");
            }

            report.AppendLine();
        }

        var dockerCoins = externalPipeline is { MedianRate: > 0 } ? externalPipeline : null;
        report.AppendLine($"| pipeline (fast profile) | hashes/s (median of 1 s) | min–max | ratio to L | ratio to L₂ |{(dockerCoins is null ? "" : " × DockerCoins |")} rng p50/p99 ms | hasher p50/p99 ms | µs CPU per hash | per process: CPU cores, RSS MiB, µs CPU per hash |");
        report.AppendLine($"|---|---:|---:|---:|---:|{(dockerCoins is null ? "" : "---:|")}---:|---:|---:|---|");
        static string Usage(PipelineResult r) => string.Join("; ", r.Processes.Select(p => $"{p.Name} {p.Cores:F2}, {p.RssMiB:F0}, {p.MicrosPerHash:F1}"));
        string Ratio(double rate, double? to, string format = "F2") => to is double t ? (rate / t).ToString(format, Inv) : "";
        foreach (var r in results.Append(externalPipeline).OfType<PipelineResult>())
        {
            var isExternal = r == externalPipeline;
            var ratio = dockerCoins is null ? "" : $" {r.MedianRate / dockerCoins.MedianRate:F1}× |";
            var latency = isExternal ? " | |" : $" {r.RngP50:F2}/{r.RngP99:F2} | {r.HasherP50:F2}/{r.HasherP99:F2} |";
            report.AppendLine(Inv, $"| {(isExternal ? "external (DockerCoins)" : r.Layout)} | {r.MedianRate:F0} | {r.MinRate:F0}–{r.MaxRate:F0} | {Ratio(r.MedianRate, l, isExternal ? "F3" : "F2")} | {Ratio(r.MedianRate, h2Best?.L2, isExternal ? "F3" : "F2")} |{ratio}{latency} {r.MicrosPerHash:F1} | {Usage(r)} |");
        }

        report.AppendLine();
        if (h2Best is not null)
        {
            report.AppendLine(Inv, $"L₂ is the higher of the two h2load runs: -m{h2Best.Streams} ({h2Best.L2:F0}); -m{h2.First(r => r != h2Best).Streams} gave {h2.First(r => r != h2Best).L2:F0}.");
        }

        report.AppendLine(dockerCoins is not null
            ? $"Ratio column \"× DockerCoins\": hashes/s over {dockerCoins.MedianRate:F0}, the external pipeline measured in this run ({options.ExternalWorkers})."
            : "No DockerCoins column: pass --dockercoins DIR (container.training's dockercoins folder) to measure the original in this run.");
        report.AppendLine("µs CPU per hash: user + system time of each process (/proc/<pid>/stat) over the measured window, divided by the hashes mined in it.");
        report.AppendLine();
        MemoryReport.Append(report, memory);
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
        var first = last;
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
        // Its store counts in steps (each worker's INCRBY once a second): over 20 s that is close enough.
        var hashes = last - first is long grown and > 0 ? grown : 0;
        var usage = processes
            .Select(p => (Name: $"{p.Name}[{p.Pid}]", Cpu: Cpu(p.Pid) - cpuBefore[p.Pid], Rss: Rss(p.Pid)))
            .Where(p => p.Cpu is double && p.Rss is double && (p.Cpu / elapsed > 0.005 || p.Rss > 5))
            .Select(p => new ProcessUsage(p.Name, p.Cpu!.Value / elapsed, p.Rss!.Value, hashes > 0 ? p.Cpu!.Value * 1e6 / hashes : 0))
            .ToList();
        usage.Add(new ProcessUsage("total", usage.Sum(p => p.Cores), usage.Sum(p => p.RssMiB), usage.Sum(p => p.MicrosPerHash)));
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

    /// <summary>One service under wrk on its HTTP/1.1 port, or (<paramref name="h2Streams"/>) under h2load on an h2c port of its own.</summary>
    private static async Task<double> ServiceRateAsync(string service, string launcher, HarnessOptions options, bool post, string? aot, int? h2Streams)
    {
        var port = Ports.Next();
        var environment = Settings(options, service);
        environment["RAMCOIN_PROFILE"] = "fast";
        var h2Port = Ports.Next();
        if (h2Streams is not null)
        {
            environment["RAMCOIN_H2C_PORT"] = Str(h2Port);
        }

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
            if (h2Streams is int streams)
            {
                var h2Url = $"http://127.0.0.1:{h2Port}/{(post ? "" : "32")}";
                await H2load.RateAsync(h2Url, post, streams, 2);
                return await H2load.RateAsync(h2Url, post, streams, options.WrkSeconds);
            }

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
                environment["RNG_URL"] = $"http://127.0.0.1:{ports[h2c ? "rng-h2c" : "rng"]}";
                environment["HASHER_URL"] = $"http://127.0.0.1:{ports[h2c ? "hasher-h2c" : "hasher"]}";
                environment["WORKER_H2C"] = h2c ? "true" : "false";
                environment["WORKER_URL"] = $"http://127.0.0.1:{ports["worker"]}";
                foreach (var service in new[] { "rng", "hasher", "webui", "worker" })
                {
                    var binary = AotPath(root, service);
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
            // The worker's own count (/status), not the store's: the store moves once a second, in steps.
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports["worker"]}/") };
            async Task<long> ComputedAsync()
            {
                using var status = JsonDocument.Parse(await http.GetStringAsync("status", cancellationToken));
                return status.RootElement.GetProperty("hashesComputed").GetInt64();
            }
            var rates = new List<double>();
            var last = await ComputedAsync();
            var first = last;
            children.ForEach(c => c.MarkCpu());
            var lastAt = Stopwatch.GetTimestamp();
            for (var i = 0; i < options.Seconds; i++)
            {
                await Task.Delay(1000, cancellationToken);
                var now = await ComputedAsync();
                var at = Stopwatch.GetTimestamp();
                rates.Add((now - last) / Stopwatch.GetElapsedTime(lastAt, at).TotalSeconds);
                (last, lastAt) = (now, at);
            }

            var hashes = Math.Max(1, last - first);
            var processes = children.Select(c => new ProcessUsage(c.Name, c.CoresSinceMark(), c.RssMiB(), c.CpuSecondsSinceMark() * 1e6 / hashes)).ToList();
            // Memory at full speed; the GC's view from each .NET process's /metrics (the store's launcher serves none).
            var memory = new List<MemoryReading>();
            foreach (var child in children)
            {
                int? metrics = layout == "all" ? ports["webui"] : ports.TryGetValue(child.Name, out var own) && child.Name != "store" ? own : null;
                memory.Add(await MemoryReading.ReadAsync(child.Name, $"{layout}, full speed", child.Pid, metrics));
            }

            var (rngP50, rngP99, hasherP50, hasherP99) = await StoreReadings.LatencyAsync(db, StoreKeys.WorkerTelemetry);
            return new PipelineResult(layout, Stats.Median(rates), rates.Min(), rates.Max(), rngP50, rngP99, hasherP50, hasherP99, processes) { Memory = memory };
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

    private static Dictionary<string, string> Settings(HarnessOptions options, string? service = null, Dictionary<string, string>? start = null) =>
        Settings(options.Env, service, start);

    /// <summary>The settings of one process: NAME=VALUE for every process, SERVICE:NAME=VALUE for that service only.</summary>
    internal static Dictionary<string, string> Settings(IReadOnlyList<string> env, string? service = null, Dictionary<string, string>? start = null)
    {
        var settings = start ?? [];
        foreach (var pair in env.Select(e => e.Split('=', 2)).Where(p => p.Length == 2))
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

    /// <summary>A service's Native AOT executable's name (RamCoin.Rng ...).</summary>
    internal static string Binary(string service) => "RamCoin." + (service == "webui" ? "WebUI" : char.ToUpperInvariant(service[0]) + service[1..]);

    private static string AotPath(string root, string service) => Path.Combine(root, "bench/out", service, Binary(service));

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
