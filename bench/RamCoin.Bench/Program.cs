using System.CommandLine;
using RamCoin.Bench;

// ramcoin-bench: measures the fast profile against references measured in the same run (README "Performance").
var seconds = new Option<int>("--seconds") { Description = "Measured seconds of each pipeline run (after the warm-up).", DefaultValueFactory = _ => 20 };
var warmup = new Option<int>("--warmup") { Description = "Seconds of warm-up before measuring (the JIT launcher reaches full speed after 10-20 s).", DefaultValueFactory = _ => 30 };
var wrkSeconds = new Option<int>("--wrk-seconds") { Description = "Seconds of each wrk -t2 -c16 run.", DefaultValueFactory = _ => 10 };
var loops = new Option<int?>("--loops") { Description = "WORKER_CONCURRENCY for the pipeline (default: the fast profile's)." };
var layouts = new Option<string>("--layouts") { Description = "Pipeline layouts, comma-separated: all (one process), processes (one per service, Native AOT, worker to rng and hasher over h2c), processes-http1 (the same over HTTP/1.1).", DefaultValueFactory = _ => "all,processes,processes-http1" };
var skipReferences = new Option<bool>("--skip-references") { Description = "Do not measure the bare endpoint and the services with wrk." };
var externalRng = new Option<string?>("--external-rng") { Description = "Also measure another rng with wrk (bench/dockercoins.sh's: http://127.0.0.1:18001/32)." };
var externalHasher = new Option<string?>("--external-hasher") { Description = "Also measure another hasher with wrk (bench/dockercoins.sh's: http://127.0.0.1:18002/)." };
var externalServices = new Option<string?>("--external-services") { Description = "Shell command that runs another system's store, rng and hasher (for example the original DockerCoins), started first and stopped before RamCoin runs." };
var externalWorkers = new Option<string?>("--external-workers") { Description = "Shell command that runs its workers, started after the wrk runs; its hashes/s are read from --external-store." };
var externalStore = new Option<string>("--external-store") { Description = "host:port of the external system's Redis (its 'hashes' counter; bench/dockercoins.sh's: 127.0.0.1:16379).", DefaultValueFactory = _ => "127.0.0.1:6379" };
var env = new Option<string[]>("--env") { Description = "Extra NAME=VALUE settings for every RamCoin process, or SERVICE:NAME=VALUE for one (rng, hasher, worker, webui, store; repeatable).", AllowMultipleArgumentsPerToken = true };
var noPublish = new Option<bool>("--no-publish") { Description = "Reuse the Native AOT binaries of an earlier run (bench/out) instead of publishing them again." };
var dockerCoins = new Option<string?>("--dockercoins") { Description = "container.training's dockercoins folder: measure the original DockerCoins in this run (bench/dockercoins.sh; sets the --external-* options)." };

var run = new RootCommand("Benchmarks RamCoin's fast profile: hashes/s, latency, CPU and RSS, with ratios to a bare Kestrel endpoint measured in the same run.")
{
    seconds, warmup, wrkSeconds, loops, layouts, skipReferences, externalRng, externalHasher, externalServices, externalWorkers, externalStore, env, noPublish, dockerCoins,
};
run.SetAction(async (parsed, cancellationToken) =>
{
    var options = new HarnessOptions(
        parsed.GetValue(seconds), parsed.GetValue(warmup), parsed.GetValue(wrkSeconds), parsed.GetValue(loops),
        [.. parsed.GetValue(layouts)!.Split(',', StringSplitOptions.RemoveEmptyEntries)], parsed.GetValue(skipReferences),
        parsed.GetValue(externalRng), parsed.GetValue(externalHasher), parsed.GetValue(externalServices), parsed.GetValue(externalWorkers), parsed.GetValue(externalStore)!, parsed.GetValue(env) ?? [], parsed.GetValue(noPublish));
    if (parsed.GetValue(dockerCoins) is { } folder)
    {
        if (DockerCoins.Options(options, folder, Harness.RepoRoot()) is not { } with)
        {
            Console.Error.WriteLine($"ramcoin-bench: --dockercoins: '{folder}' has no rng/rng.py, hasher/hasher.rb and worker/worker.py: give container.training's dockercoins folder.");
            return 2;
        }

        options = with;
    }

    return await Harness.RunAsync(options, cancellationToken);
});

var port = new Option<int>("--port") { Required = true };
var h2cPort = new Option<int?>("--h2c-port") { Description = "A second port that speaks HTTP/2 only (h2c, prior knowledge), for L₂." };
var bare = new Command("bare", "Serve the bare reference endpoints (GET /{n}, POST /) on 127.0.0.1:<port> (HTTP/1.1) and <h2c-port> (HTTP/2).") { port, h2cPort };
bare.SetAction(async (parsed, cancellationToken) =>
{
    await BareServer.RunAsync(parsed.GetValue(port), parsed.GetValue(h2cPort), cancellationToken);
    return 0;
});
run.Subcommands.Add(bare);

var memoryEnv = new Option<string[]>("--env") { Description = "NAME=VALUE for every binary, or SERVICE:NAME=VALUE for one (repeatable).", AllowMultipleArgumentsPerToken = true };
var memoryOut = new Option<string?>("--out") { Description = "The folder of the Native AOT binaries (<out>/rng/RamCoin.Rng ...; default bench/out, from an earlier run)." };
var memorySettle = new Option<int>("--settle") { Description = "Seconds after the start before reading.", DefaultValueFactory = _ => 10 };
var memory = new Command("memory", "Idle memory of the Native AOT binaries (a classic-profile system; RSS, anonymous, mapped files, the GC's view), without publishing.") { memoryEnv, memoryOut, memorySettle };
memory.SetAction(async (parsed, cancellationToken) =>
{
    var root = Harness.RepoRoot();
    await Harness.ShAsync("dotnet", ["build", Path.Combine(root, "src/RamCoin/RamCoin.csproj"), "-c", "Release", "-nologo", "-v", "q", "--disable-build-servers"]);
    var readings = await MemoryReport.IdleAotAsync(
        Path.GetFullPath(parsed.GetValue(memoryOut) ?? Path.Combine(root, "bench/out")), Path.Combine(root, "src/RamCoin/bin/Release/net10.0/ramcoin.dll"),
        parsed.GetValue(memoryEnv) ?? [], parsed.GetValue(memorySettle), cancellationToken);
    var report = new System.Text.StringBuilder();
    MemoryReport.Append(report, readings);
    Console.Write(report.ToString());
    return 0;
});
run.Subcommands.Add(memory);

var viewerCounts = new Option<string>("--counts") { Description = $"Numbers of concurrent GET /events streams, comma-separated, each at most {Viewers.MaxStreams:N0}.", DefaultValueFactory = _ => "100,1000,5000,10000" };
var viewerSeconds = new Option<int>("--seconds") { Description = "Measured seconds of each count, once its streams are open.", DefaultValueFactory = _ => 20 };
var viewerUrl = new Option<string?>("--url") { Description = "A web UI that is already running (http://127.0.0.1:8000/); by default the bench starts the launcher, classic profile, in memory, on free ports." };
var viewerPid = new Option<int?>("--pid") { Description = "With --url: the process serving it, for its RSS and CPU (/proc/<pid>)." };
var connectSeconds = new Option<int>("--connect-seconds") { Description = "Time each count has to open its streams (200 and a first event).", DefaultValueFactory = _ => 30 };
var parallel = new Option<int>("--parallel") { Description = "Streams connecting at once (a stream stops counting once it has its first event).", DefaultValueFactory = _ => 200 };
var viewerClient = new Option<ViewerClient>("--client") { Description = "socket: each viewer a plain socket, its answer read as it arrives (the least CPU, so the lag is mostly the web UI's); http: HttpClient and SseParser each, as a .NET program would read it.", DefaultValueFactory = _ => ViewerClient.Socket };
var viewers = new Command("viewers", "A classroom on the dashboard: N concurrent Server-Sent-Events streams (GET /events) against one web UI; connected, refused, events per client per second, lag, the web UI's RSS and CPU.")
{
    viewerCounts, viewerSeconds, viewerUrl, viewerPid, connectSeconds, parallel, viewerClient,
};
viewers.SetAction(async (parsed, cancellationToken) =>
{
    var counts = new List<int>();
    foreach (var text in parsed.GetValue(viewerCounts)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
    {
        if (!int.TryParse(text.Replace("_", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture, out var count))
        {
            Console.Error.WriteLine($"ramcoin-bench viewers: --counts: '{text}' is not a number.");
            return 2;
        }

        counts.Add(count);
    }

    Uri? url = null;
    if (parsed.GetValue(viewerUrl) is { } given)
    {
        // The web UI's base address; events is relative to it (as behind kubectl proxy's path prefix).
        if (!Uri.TryCreate(given.EndsWith('/') ? given : given + "/", UriKind.Absolute, out url) || url.Scheme is not ("http" or "https"))
        {
            Console.Error.WriteLine($"ramcoin-bench viewers: --url: '{given}' is not an http address (http://127.0.0.1:8000/).");
            return 2;
        }
    }

    return await Viewers.RunAsync(
        new ViewersOptions(counts, parsed.GetValue(viewerSeconds), url, parsed.GetValue(viewerPid), parsed.GetValue(connectSeconds), parsed.GetValue(parallel), parsed.GetValue(viewerClient)),
        cancellationToken);
});
run.Subcommands.Add(viewers);

var storeBuilds = new Option<string[]>("--build") { Description = "LABEL=PATH of a launcher (ramcoin.dll) to measure, repeatable (default: this tree's Release build).", AllowMultipleArgumentsPerToken = true };
var storeSeconds = new Option<int>("--seconds") { Description = "Seconds of load on each build.", DefaultValueFactory = _ => 20 };
var storeRate = new Option<int>("--reports") { Description = "Worker reports a second (three writes each).", DefaultValueFactory = _ => 1000 };
var storeCompaction = new Command("store-compaction", "The embedded store with a data folder under a bounded write load: how often it compacts its append-only file, the longest client wait, the file's size.") { storeBuilds, storeSeconds, storeRate };
storeCompaction.SetAction(async (parsed, cancellationToken) =>
{
    var builds = new List<StoreBuild>();
    foreach (var given in parsed.GetValue(storeBuilds) ?? [])
    {
        if (given.Split('=', 2) is not [{ Length: > 0 } label, { Length: > 0 } path] || !File.Exists(path))
        {
            Console.Error.WriteLine($"ramcoin-bench store-compaction: --build: '{given}' is not LABEL=PATH of an existing ramcoin.dll.");
            return 2;
        }

        builds.Add(new StoreBuild(label, Path.GetFullPath(path)));
    }

    if (builds.Count == 0)
    {
        var root = Harness.RepoRoot();
        await Harness.ShAsync("dotnet", ["build", Path.Combine(root, "src/RamCoin/RamCoin.csproj"), "-c", "Release", "-nologo", "-v", "q", "--disable-build-servers"]);
        builds.Add(new StoreBuild("this tree", Path.Combine(root, "src/RamCoin/bin/Release/net10.0/ramcoin.dll")));
    }

    return await StoreCompaction.RunAsync(builds, parsed.GetValue(storeSeconds), parsed.GetValue(storeRate), cancellationToken);
});
run.Subcommands.Add(storeCompaction);

var aofBounds = new Option<string>("--bounds") { Description = "Comma-separated: SizeLimit (Garnet's AofSizeLimit), InProcess (a checkpoint on the server object), None (the control).", DefaultValueFactory = _ => "SizeLimit,InProcess,None" };
var aofRuns = new Option<int>("--runs") { Description = "Runs of each bound.", DefaultValueFactory = _ => 3 };
var aofTransactions = new Option<int>("--transactions") { Description = "Worker-like transactions of each run (16 writers).", DefaultValueFactory = _ => 48_000 };
var aofKill = new Option<bool>("--kill") { Description = "Run each server in a process of its own and kill it with SIGKILL after the writes, instead of a clean stop." };
var aofServeDir = new Option<string?>("--serve-dir") { Hidden = true };
var aofServePort = new Option<int>("--serve-port") { Hidden = true };
var garnetAofLimit = new Command("garnet-aof-size-limit", "docs/garnet-aof-size-limit.md's reproduction: acknowledged writes after a restart, with Garnet's AofSizeLimit, an in-process checkpoint, and neither. Exits 1 if any run lost one.") { aofBounds, aofRuns, aofTransactions, aofKill, aofServeDir, aofServePort };
garnetAofLimit.SetAction(async (parsed, cancellationToken) =>
{
    var bounds = new List<AofBound>();
    foreach (var name in parsed.GetValue(aofBounds)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
    {
        if (!Enum.TryParse<AofBound>(name, ignoreCase: true, out var bound) || !Enum.IsDefined(bound))
        {
            Console.Error.WriteLine($"ramcoin-bench garnet-aof-size-limit: --bounds: '{name}' is not SizeLimit, InProcess or None.");
            return 2;
        }

        bounds.Add(bound);
    }

    if (parsed.GetValue(aofServeDir) is { } serveDir)
    {
        return await GarnetAofSizeLimit.ServeAsync(bounds[0], serveDir, parsed.GetValue(aofServePort));
    }

    return await GarnetAofSizeLimit.RunAsync(bounds, parsed.GetValue(aofRuns), parsed.GetValue(aofTransactions), parsed.GetValue(aofKill), cancellationToken);
});
run.Subcommands.Add(garnetAofLimit);

return await run.Parse(args).InvokeAsync();
