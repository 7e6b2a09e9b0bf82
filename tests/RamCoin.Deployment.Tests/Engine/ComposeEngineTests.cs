using System.Text.RegularExpressions;

namespace RamCoin.Tests.Engine;

/// <summary>
/// The compose commands of docs/deployment.md, exactly as written, in the real engine: up mines, ten workers meet rng's
/// ceiling, the live edit of the page shows at once, down leaves nothing running; and a store outage loses nothing.
/// </summary>
[Collection(nameof(RealEngine))]
public sealed partial class ComposeEngineTests(DockerEngine engine)
{
    private const string Up = "docker compose up -d";
    private const string ScaleUp = "docker compose up -d --scale worker=10";
    private const string LiveEdit = "sed -i 's/font-size: 15px/font-size: 50px/' src/RamCoin.WebUI/files/index.html";
    private const string FastUp = "RAMCOIN_PROFILE=fast docker compose up -d";
    private const string WebUI = "http://127.0.0.1:8000/";
    private static readonly string[] ComposeServices = ["hasher", "redis", "rng", "webui", "worker"];
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public void TheCommandsRunHereAreTheGuides()
    {
        var guide = Repo.Read("docs/deployment.md");
        foreach (var command in new[] { Up, ScaleUp, LiveEdit, FastUp, "docker compose down" })
        {
            Assert.Contains(command, guide, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task UpMinesTenWorkersMeetRngsCeilingTheLiveEditShowsAtOnceAndDownLeavesNothingRunning()
    {
        engine.Require();
        await engine.BuildTargetsAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            await engine.ShellAsync(Up);
            await Eventually.TrueAsync(async () => await HashesAsync() > 0, "compose's worker mines (hashes on :8000)", 90);
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"engine: '{Up}' to the first hashes on :8000: {clock.Elapsed.TotalSeconds:F1} s (images already built)"));
            await ReportMemoryAsync("compose, classic profile, one worker");

            await engine.ShellAsync(ScaleUp);
            Assert.Equal(10, (await engine.ContainersAsync("worker")).Length);
            // The ten workers start and the counter's growth settles; then one measured window.
            await Task.Delay(TimeSpan.FromSeconds(12), Ct);
            var (first, firstAt) = (await HashesAsync(), Stopwatch.GetTimestamp());
            await Task.Delay(TimeSpan.FromSeconds(20), Ct);
            var rate = (await HashesAsync() - first) / Stopwatch.GetElapsedTime(firstAt).TotalSeconds;
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"engine: compose --scale worker=10, classic profile: {rate:F2} hashes/s over 20 s (rng's ceiling: 10)"));
            Assert.InRange(rate, 8.0, 11.0);
            await ReportMemoryAsync("compose, classic profile, ten workers");

            Assert.Contains("font-size: 15px", await Http.GetStringAsync(WebUI + "index.html", Ct), StringComparison.Ordinal);
            await engine.ShellAsync(LiveEdit);
            Assert.Contains("font-size: 50px", await Http.GetStringAsync(WebUI + "index.html", Ct), StringComparison.Ordinal);

            await engine.ShellAsync("docker compose down");
            foreach (var service in ComposeServices)
            {
                Assert.Empty(await engine.ContainersAsync(service, all: true));
            }
        }
        finally
        {
            await engine.ShellAsync(LiveEdit.Replace("15px/font-size: 50px", "50px/font-size: 15px", StringComparison.Ordinal));
            await engine.ShellAsync("docker compose down -v");
        }
    }

    [Fact]
    public async Task KillingTheRedisContainerForTenSecondsLosesNoCountedHash()
    {
        engine.Require();
        await engine.BuildTargetsAsync();
        try
        {
            await engine.ShellAsync(FastUp);
            await Eventually.TrueAsync(async () => await HashesAsync() > 1000, "the fast profile mines", 90);
            var redis = Assert.Single(await engine.ContainersAsync("redis"));
            var before = await engine.StoreHashesAsync(redis);

            await engine.DockerAsync("kill", redis);
            await Task.Delay(TimeSpan.FromSeconds(10), Ct);
            await engine.DockerAsync("start", redis);
            var restarted = Stopwatch.StartNew();
            await Eventually.TrueAsync(async () => (await engine.TryDockerAsync("exec", redis, "redis-cli", "get", "hashes")) is { ExitCode: 0 } r && long.TryParse(r.Output.Trim(), out var n) && n > before, "the worker writes again after the outage", 30);
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"engine: compose store outage (docker kill redis, 10 s): writes resumed {restarted.Elapsed.TotalSeconds:F1} s after docker start"));
            await Task.Delay(TimeSpan.FromSeconds(3), Ct);

            // SIGTERM: the worker writes what it still holds, then stops. Its log names every count it took.
            var worker = Assert.Single(await engine.ContainersAsync("worker"));
            await engine.ShellAsync("docker compose stop worker");
            var logs = await engine.DockerAsync("logs", worker);
            var computed = CountLine().Matches(logs).Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
            var counted = await engine.StoreHashesAsync(redis);
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"engine: compose store outage: {computed} hashes computed (the worker's log lines), {counted} counted in redis"));
            Assert.True(counted > before, "mining went on after the outage");
            Assert.Equal(computed, counted);
        }
        finally
        {
            await engine.ShellAsync("docker compose down -v");
        }
    }

    [GeneratedRegex(@"(\d+) units of work done, updating hash counter")]
    private static partial Regex CountLine();

    private static async Task<long> HashesAsync()
    {
        try
        {
            using var response = await Http.GetAsync(WebUI + "json", Ct);
            return response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("hashes").GetInt64() : -1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return -1;
        }
    }

    private async Task ReportMemoryAsync(string situation)
    {
        var ids = new List<string>();
        foreach (var service in ComposeServices)
        {
            ids.AddRange((await engine.ContainersAsync(service)).Select(id => $"{service}:{id}"));
        }

        var memory = await engine.MemoryAsync([.. ids.Select(i => i.Split(':')[1])]);
        var byService = ids.GroupBy(i => i.Split(':')[0]).Select(g =>
        {
            var values = g.Select(i => memory[i.Split(':')[1]]).ToList();
            return string.Create(CultureInfo.InvariantCulture, $"{g.Key} {values.Average():F1} MiB{(values.Count > 1 ? $" each ({values.Count})" : "")}");
        });
        Figures.Report($"engine: memory ({situation}, docker stats): {string.Join(", ", byService)}");
    }
}
