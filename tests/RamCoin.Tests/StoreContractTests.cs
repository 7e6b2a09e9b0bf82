namespace RamCoin.Tests;

/// <summary>
/// The store contract: what rng and hasher carry (no store client), and the records the worker writes, which the web UI
/// and the bench read through the same types and the same source-generated context.
/// </summary>
public sealed class StoreContractTests
{
    /// <summary>Every package and project in a project's closure, transitive ones included, as the restore resolved them.</summary>
    private static List<string> Closure(string project)
    {
        using var assets = JsonDocument.Parse(Repo.Read($"src/{project}/obj/project.assets.json"));
        return [.. assets.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name.Split('/')[0])];
    }

    /// <summary>rng and hasher carry no store client; the same reading sees it where it is (the worker and the web UI
    /// get it from the contract), so the check is not blind.</summary>
    [Theory]
    [InlineData("RamCoin.Rng", false)]
    [InlineData("RamCoin.Hasher", false)]
    [InlineData("RamCoin.Worker", true)]
    [InlineData("RamCoin.WebUI", true)]
    public void OnlyTheWorkerAndTheWebUICarryTheStoreClient(string project, bool carriesIt)
    {
        var closure = Closure(project);
        Assert.Contains("RamCoin.Hosting", closure);
        Assert.Equal(carriesIt, closure.Contains("RamCoin.StoreContract"));
        Assert.Equal(carriesIt, closure.Any(l => l.StartsWith("StackExchange.Redis", StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task WhatAWorkerWritesReadsBackWholeThroughTheContract()
    {
        await using var rig = await MiningRig.StartAsync();
        await using var worker = await rig.StartWorkerAsync(new() { ["WORKER_ID"] = "contract-worker" });
        var db = await rig.DatabaseAsync();

        RedisValue written = default;
        await Eventually.TrueAsync(
            async () => (written = await db.HashGetAsync(StoreKeys.WorkerTelemetry, "contract-worker")) is { IsNull: false }
                && JsonSerializer.Deserialize(written.ToString(), StoreJsonContext.Default.WorkerReport) is { Rng.Calls: > 0, Hasher.Calls: > 0 }
                && await db.ListLengthAsync(StoreKeys.RecentCoins) > 0,
            "the worker publishes a report with calls to both peers, and a coin");

        var report = JsonSerializer.Deserialize(written.ToString(), StoreJsonContext.Default.WorkerReport)!;
        foreach (var peer in new[] { report.Rng, report.Hasher })
        {
            // Each percentile lands in its own field: p99 is measured, not left at its default.
            Assert.True(peer.P99Ms > 0, $"p99 {peer.P99Ms}");
            Assert.True(peer.P50Ms <= peer.P95Ms && peer.P95Ms <= peer.P99Ms, $"p50 {peer.P50Ms}, p95 {peer.P95Ms}, p99 {peer.P99Ms}");
            Assert.NotEmpty(peer.Instances);
        }

        // Every field the worker writes is one the readers' type has: nothing is written that no one reads.
        AssertEveryFieldIsKnown(written.ToString(), StoreJsonContext.Default.WorkerReport);
        var coin = (await db.ListRangeAsync(StoreKeys.RecentCoins, 0, 0))[0].ToString();
        AssertEveryFieldIsKnown(coin, StoreJsonContext.Default.RecentCoin);
        Assert.Equal("contract-worker", JsonSerializer.Deserialize(coin, StoreJsonContext.Default.RecentCoin)!.Worker);
    }

    [Fact]
    public async Task TheWebUISkipsAReportWithAnImpossibleP99Whole()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: store.Peers());
        var db = await store.DatabaseAsync();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        string Report(string rng, double p99) => JsonSerializer.Serialize(
            new WorkerReport(
                "1.0", 0, 1, now,
                new PeerReport(1, 2, p99, 0, 10, new() { [rng] = new PeerInstanceReport(10, "1.0") }),
                new PeerReport(1, 2, 3, 0, 10, new() { ["hasher-a"] = new PeerInstanceReport(10, "1.0") })),
            StoreJsonContext.Default.WorkerReport);
        await db.HashSetAsync(StoreKeys.WorkerSeen, [new("sane", now), new("impossible", now)]);
        await db.HashSetAsync(StoreKeys.WorkerTelemetry, [new("sane", Report("rng-sane", 3)), new("impossible", Report("rng-impossible", -1))]);

        List<string?> instances = [];
        await Eventually.TrueAsync(
            async () =>
            {
                // 503 until the first sample.
                using var response = await webui.Client.GetAsync("/dashboard.json", Ct);
                if (!response.IsSuccessStatusCode)
                {
                    return false;
                }

                var dashboard = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
                instances = [.. dashboard.GetProperty("rng").GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("instance").GetString())];
                return instances.Contains("rng-sane");
            },
            "the dashboard shows the sane report's rng instance");

        Assert.DoesNotContain("rng-impossible", instances);
        Assert.Contains(StoreKeys.WorkerTelemetry, webui.Get<StoreKeyWarnings>().Keys);
    }

    private static void AssertEveryFieldIsKnown<T>(string json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        var known = type.Properties.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        using var document = JsonDocument.Parse(json);
        Assert.All(document.RootElement.EnumerateObject(), field => Assert.Contains(field.Name, known));
        foreach (var property in type.Properties.Where(p => p.PropertyType == typeof(PeerReport)))
        {
            var peer = StoreJsonContext.Default.PeerReport.Properties.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            Assert.All(document.RootElement.GetProperty(property.Name).EnumerateObject(), field => Assert.Contains(field.Name, peer));
        }
    }

    [Fact]
    public void StoreKeyWarningsEscapeControlCharactersFromTheStore()
    {
        var logger = new LinesLogger();
        var warnings = new StoreKeyWarnings(TimeProvider.System, logger);

        warnings.Warn("ramcoin:worker:seen\r\n", "field 'evil\n12:00:00 info: forged\u001b[31m' holds a value out of range; skipped");

        var line = Assert.Single(logger.Lines);
        Assert.DoesNotContain(line, char.IsControl);
        Assert.Contains("ramcoin:worker:seen\\r\\n", line, StringComparison.Ordinal);
        Assert.Contains("evil\\n12:00:00 info: forged\\u001b[31m", line, StringComparison.Ordinal);
    }

    private sealed class LinesLogger : Microsoft.Extensions.Logging.ILogger<StoreKeyWarnings>
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
