using System.CommandLine;
using RamCoin.Bench;

// ramcoin-bench: measures the fast profile against references measured in the same run (README "Performance").
var seconds = new Option<int>("--seconds") { Description = "Measured seconds of each pipeline run (after the warm-up).", DefaultValueFactory = _ => 20 };
var warmup = new Option<int>("--warmup") { Description = "Seconds of warm-up before measuring.", DefaultValueFactory = _ => 5 };
var wrkSeconds = new Option<int>("--wrk-seconds") { Description = "Seconds of each wrk -t2 -c16 run.", DefaultValueFactory = _ => 10 };
var loops = new Option<int?>("--loops") { Description = "WORKER_CONCURRENCY for the pipeline (default: the fast profile's)." };
var layouts = new Option<string>("--layouts") { Description = "Pipeline layouts: all (one process), processes (one per service, Native AOT), or both.", DefaultValueFactory = _ => "all,processes" };
var skipReferences = new Option<bool>("--skip-references") { Description = "Do not measure the bare endpoint and the services with wrk." };
var externalRng = new Option<string?>("--external-rng") { Description = "Also measure another rng with wrk (for example the original DockerCoins' http://127.0.0.1:8001/32)." };
var externalHasher = new Option<string?>("--external-hasher") { Description = "Also measure another hasher with wrk (http://127.0.0.1:8002/)." };
var externalRate = new Option<double?>("--external-pipeline-rate") { Description = "hashes/s of an external pipeline measured the same day (DockerCoins, its sleeps removed), for the ratio." };
var env = new Option<string[]>("--env") { Description = "Extra NAME=VALUE settings for every RamCoin process (repeatable).", AllowMultipleArgumentsPerToken = true };

var run = new RootCommand("Benchmarks RamCoin's fast profile: hashes/s, latency, CPU and RSS, with ratios to a bare Kestrel endpoint measured in the same run.")
{
    seconds, warmup, wrkSeconds, loops, layouts, skipReferences, externalRng, externalHasher, externalRate, env,
};
run.SetAction(async (parsed, cancellationToken) => await Harness.RunAsync(
    new HarnessOptions(
        parsed.GetValue(seconds), parsed.GetValue(warmup), parsed.GetValue(wrkSeconds), parsed.GetValue(loops),
        [.. parsed.GetValue(layouts)!.Split(',', StringSplitOptions.RemoveEmptyEntries)], parsed.GetValue(skipReferences),
        parsed.GetValue(externalRng), parsed.GetValue(externalHasher), parsed.GetValue(externalRate), parsed.GetValue(env) ?? []),
    cancellationToken));

var port = new Option<int>("--port") { Required = true };
var bare = new Command("bare", "Serve the bare reference endpoints (GET /{n}, POST /) on 127.0.0.1:<port>.") { port };
bare.SetAction(async (parsed, cancellationToken) =>
{
    await BareServer.RunAsync(parsed.GetValue(port), cancellationToken);
    return 0;
});
run.Subcommands.Add(bare);

return await run.Parse(args).InvokeAsync();
