using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace RamCoin.Tests;

/// <summary>
/// Alone: every service in this process feeds the same meters (and activity sources), so exact counts need quiet
/// around them. Here, not in the fast project, where they ran alone for its last 10 s: this project has the time. What
/// needs no meter (the admin API, readiness) is in the fast project's <c>AdminApiTests</c>, side by side with the rest.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class InstrumentationTests
{
    private static readonly string[] ErrorKinds = ["timeout", "connection", "http_status", "circuit_open", "bad_answer", "other"];

    [Fact]
    public async Task MetricsCountKnownTraffic()
    {
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast);
        var before = await PrometheusText.ScrapeAsync(rng.Client);

        for (var i = 0; i < 10; i++)
        {
            await rng.Client.GetByteArrayAsync("/32", Ct);
        }

        var after = await PrometheusText.ScrapeAsync(rng.Client);
        Assert.Equal(320, PrometheusText.Sum(after, "ramcoin_rng_bytes_total") - PrometheusText.Sum(before, "ramcoin_rng_bytes_total"));
        Assert.Equal(10, PrometheusText.Sum(after, "http_server_request_duration_seconds_count", "http_route=\"/{count}\"")
            - PrometheusText.Sum(before, "http_server_request_duration_seconds_count", "http_route=\"/{count}\""));
    }

    [Fact]
    public async Task EveryDocumentedMetricIsExposed()
    {
        await using var rig = await MiningRig.StartAsync();
        await using var worker = await rig.StartWorkerAsync();
        var stats = worker.Get<MiningStats>();
        await Eventually.TrueAsync(() => stats.Written > 100 && stats.CoinsWritten > 0, "the worker mines and writes");
        // A failed loop, so that the error counter has a series.
        await using var broken = await StartWorkerWithoutRngAsync(rig);

        var computedBefore = stats.Computed;
        var text = await PrometheusText.ScrapeAsync(worker.Client);
        var computedAfter = stats.Computed;

        var documented = DocumentedMetrics();
        Assert.True(documented.Count >= 15, $"docs/metrics.md documents {documented.Count} metrics");
        var exposed = PrometheusText.Names(text);
        Assert.All(documented, name => Assert.Contains(exposed, e => e == name || e.StartsWith(name + "_", StringComparison.Ordinal)));
        Assert.InRange(PrometheusText.Sum(text, "ramcoin_worker_hashes_total"), computedBefore, computedAfter + 10_000);
        var errors = PrometheusText.Sum(text, "ramcoin_worker_loop_errors_total");
        Assert.True(errors > 0, "failed loops are counted");
        Assert.Equal(errors, ErrorKinds.Sum(kind => PrometheusText.Sum(text, "ramcoin_worker_loop_errors_total", $"kind=\"{kind}\"")));
    }

    [Fact]
    public async Task ThePrometheusConfigAndTheGrafanaDashboardAreWellFormedAndUseOnlyExposedMetrics()
    {
        await using var rig = await MiningRig.StartAsync();
        await using var worker = await rig.StartWorkerAsync();
        await Eventually.TrueAsync(() => worker.Get<MiningStats>().Written > 10, "the worker mines");
        await using var broken = await StartWorkerWithoutRngAsync(rig);
        var exposed = PrometheusText.Names(await PrometheusText.ScrapeAsync(worker.Client));
        var folder = Repo.PathOf("deploy/observability");

        var prometheus = new YamlDotNet.Serialization.DeserializerBuilder().Build()
            .Deserialize<Dictionary<string, object>>(await File.ReadAllTextAsync(Path.Combine(folder, "prometheus.yml"), Ct));
        var jobs = ((List<object>)prometheus["scrape_configs"]).Cast<Dictionary<object, object>>().ToList();
        Assert.Equal(["rng", "hasher", "worker", "webui"], jobs.Select(j => (string)j["job_name"]));
        Assert.All(jobs, j => Assert.Equal("/metrics", j["metrics_path"]));

        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "grafana-dashboard.json"), Ct));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)
            .ToList();
        Assert.True(expressions.Count >= 10, $"the dashboard has {expressions.Count} queries");
        var used = expressions
            .SelectMany(e => System.Text.RegularExpressions.Regex.Matches(e, @"\b((?:ramcoin|http|process|dotnet|resilience|kestrel|aspnetcore)_[a-z0-9_]+)\b").Select(m => m.Groups[1].Value))
            .Distinct()
            .ToList();
        Assert.NotEmpty(used);
        var missing = used.Where(name => !exposed.Contains(name)).ToList();
        Assert.True(missing.Count == 0, "the dashboard uses metrics no service exposes: " + string.Join(", ", missing));
    }

    /// <summary>A worker whose rng is not there: its loops fail and retry, so error and retry series exist.</summary>
    private static async Task<RunningService> StartWorkerWithoutRngAsync(MiningRig rig)
    {
        var broken = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_ERROR_BACKOFF_MS"] = "50" }, Profile.Fast, rig.Store.Peers(new Uri($"http://127.0.0.1:{FreePort.Next()}"), rig.Peers.Hasher.Address));
        await Eventually.TrueAsync(() => broken.Get<MiningStats>().Errors > 0, "a worker without rng fails its loops");
        return broken;
    }

    [Fact]
    public async Task AnErrorRateSetThroughTheAdminApiMakesWorkerRetriesAndErrorsRise()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast);
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, AdminKnobs.Enabled, Profile.Fast);
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_ERROR_BACKOFF_MS"] = "20" }, Profile.Fast, store.Peers(rng.Address, hasher.Address));
        var stats = worker.Get<MiningStats>();
        // Until a write: a worker stopped before it reached the store fails its stop (its hashes were not written).
        await Eventually.TrueAsync(() => stats.Computed > 50 && stats.Written > 0, "the worker mines and writes");
        var before = await PrometheusText.ScrapeAsync(worker.Client);

        using var change = await hasher.Client.PutKnobsAsync(new() { ["RAMCOIN_ERROR_RATE"] = 0.9 });
        Assert.Equal(HttpStatusCode.OK, change.StatusCode);
        var errorsAtChange = stats.Errors;
        await Eventually.TrueAsync(() => stats.Errors > errorsAtChange + 5, "loops fail once hasher answers 500s");

        var after = await PrometheusText.ScrapeAsync(worker.Client);
        Assert.True(PrometheusText.Sum(after, "ramcoin_worker_loop_errors_total", "kind=\"http_status\"") > 0);
        Assert.True(
            PrometheusText.Sum(after, "resilience_polly_strategy_events_total", "event_name=\"OnRetry\"")
            > PrometheusText.Sum(before, "resilience_polly_strategy_events_total", "event_name=\"OnRetry\""),
            "retries rise");
    }

    [Fact]
    public async Task RetryEventsKeepTheirLabelsAndCallsAreNotCountedAsEvents()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast);
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, new() { ["RAMCOIN_ERROR_RATE"] = "0.5" }, Profile.Fast);
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_ERROR_BACKOFF_MS"] = "20", ["WORKER_CONCURRENCY"] = "2" }, Profile.Fast, store.Peers(rng.Address, hasher.Address));
        var stats = worker.Get<MiningStats>();
        await Eventually.TrueAsync(() => stats.Computed > 20 && stats.Errors > 0 && stats.Written > 0, "the worker mines and writes through hasher's injected errors");

        var text = await PrometheusText.ScrapeAsync(worker.Client);

        // The labels the client factory's resilience handler gave them: pipeline, strategy, and the answer's status.
        Assert.True(PrometheusText.Sum(text, "resilience_polly_strategy_events_total",
            "event_name=\"OnRetry\"", "pipeline_name=\"HasherClient-peer\"", "pipeline_instance=\"\"", "strategy_name=\"Retry\"", "error_type=\"500\"") > 0);
        // Each call was counted as a "PipelineExecuting" event too: a tagged counter update per call, for nothing a lesson reads.
        Assert.Equal(0, PrometheusText.Sum(text, "resilience_polly_strategy_events_total", "event_name=\"PipelineExecuting\""));
        Assert.True(PrometheusText.Sum(text, "http_client_request_duration_seconds_count", "http_request_method=\"POST\"", "http_response_status_code=\"500\"") > 0,
            "the client's request metric still counts every try");
    }

    [Fact]
    public async Task TheCircuitOpensOnADeadPeerAndSaysSo()
    {
        await using var rig = await MiningRig.StartAsync();
        await using var broken = await StartWorkerWithoutRngAsync(rig);
        var stats = broken.Get<MiningStats>();

        // At least 20 failed calls in the sampling window open the circuit: loops then fail at once, without a call.
        await Eventually.TrueAsync(async () => PrometheusText.Sum(await PrometheusText.ScrapeAsync(broken.Client), "ramcoin_worker_loop_errors_total", "kind=\"circuit_open\"") > 0,
            "loops fail on the open circuit");
        var text = await PrometheusText.ScrapeAsync(broken.Client);
        Assert.True(PrometheusText.Sum(text, "resilience_polly_strategy_events_total", "event_name=\"OnCircuitOpened\"", "pipeline_name=\"RngClient-peer\"", "strategy_name=\"CircuitBreaker\"") > 0);
        Assert.Equal(0, stats.Computed);
    }

    [Fact]
    public async Task ADelaySetThroughTheAdminApiShowsInTheLatencyHistogram()
    {
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, AdminKnobs.Enabled, Profile.Fast);
        var before = await PrometheusText.ScrapeAsync(rng.Client);

        using var change = await rng.Client.PutKnobsAsync(new() { ["RNG_DELAY_MS"] = 300 });
        Assert.Equal(HttpStatusCode.OK, change.StatusCode);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 3; i++)
        {
            await rng.Client.GetByteArrayAsync("/32", Ct);
        }

        // Timers may fire a hair early (seen: 898 ms for three 300 ms delays): the same allowance as below.
        Assert.True(clock.ElapsedMilliseconds >= 850, $"three answers took {clock.ElapsedMilliseconds} ms");
        var after = await PrometheusText.ScrapeAsync(rng.Client);
        var seconds = PrometheusText.Sum(after, "http_server_request_duration_seconds_sum", "http_route=\"/{count}\"")
            - PrometheusText.Sum(before, "http_server_request_duration_seconds_sum", "http_route=\"/{count}\"");
        // Timers may fire a hair early: allow a little under 3 × 300 ms.
        Assert.True(seconds >= 0.85, $"the histogram saw {seconds} s for three 300 ms answers");
        Assert.Equal("300", (await rng.Client.GetFromJsonAsync<JsonElement>("/admin/knobs", Ct)).GetProperty("RNG_DELAY_MS").GetString());
    }

    [Fact]
    public async Task WorkerLoopsAreTracedToAnOtlpReceiver()
    {
        var received = new List<byte[]>();
        await using var receiver = await StartOtlpReceiverAsync(received);
        await using var store = await StoreServer.StartGarnetAsync();
        await using var peers = await FastPeers.StartAsync();
        await using var worker = await RunningService.StartAsync(
            ServiceNames.Worker,
            new()
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Address.ToString(),
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            },
            Profile.Fast,
            peers.With(store));

        await Eventually.TrueAsync(() => Received(received, "mine") && Received(received, "store.flush"), "mining loops and flushes arrive as spans");
        Assert.True(Received(received, "ramcoin-worker"), "the spans name the service");
        Assert.True(Received(received, "/32"), "the rng call is a child span with its URL");
    }

    private static bool Received(List<byte[]> batches, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        lock (batches)
        {
            return batches.Any(b => b.AsSpan().IndexOf(needle) >= 0);
        }
    }

    /// <summary>A minimal OTLP/HTTP receiver: keeps the protobuf bodies posted to /v1/traces (span names are plain UTF-8 in them).</summary>
    private static Task<StandInServer> StartOtlpReceiverAsync(List<byte[]> received) =>
        StandInServer.StartAsync(app => app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            lock (received)
            {
                received.Add(body.ToArray());
            }

            return Results.Ok();
        }));

    /// <summary>The metric names in the metrics table of docs/metrics.md (first column, in backticks).</summary>
    private static List<string> DocumentedMetrics()
    {
        var page = Repo.Read("docs/metrics.md");
        var section = page[page.IndexOf("\n## Metrics\n", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 3, StringComparison.Ordinal)];
        return [.. System.Text.RegularExpressions.Regex.Matches(section, @"^\| `([a-z_]+)`", System.Text.RegularExpressions.RegexOptions.Multiline).Select(m => m.Groups[1].Value)];
    }
}
