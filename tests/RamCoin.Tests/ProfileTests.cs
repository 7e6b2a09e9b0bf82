using Microsoft.Extensions.Options;
using RamCoin.Hasher;
using RamCoin.Rng;
using RamCoin.Worker;

namespace RamCoin.Tests;

/// <summary>A profile is the lowest configuration layer: its values apply, and every setting still wins over them.</summary>
public sealed class ProfileTests
{
    [Fact]
    public async Task TheFastProfileSetsEachServicesOwnValues()
    {
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, profile: Profile.Fast);
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
        await using var classicRng = await RunningService.StartAsync(ServiceNames.Rng);

        var fast = rng.Get<IOptions<RngOptions>>().Value;
        Assert.Equal((0, 1024), (fast.DelayMs, fast.Concurrency));
        Assert.Equal(0, hasher.Get<IOptions<HasherOptions>>().Value.DelayMs);
        var classic = classicRng.Get<IOptions<RngOptions>>().Value;
        Assert.Equal((100, 1), (classic.DelayMs, classic.Concurrency));
    }

    [Fact]
    public async Task ASettingWinsOverTheProfile()
    {
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, new() { ["RNG_CONCURRENCY"] = "7" }, Profile.Fast);

        var options = rng.Get<IOptions<RngOptions>>().Value;
        Assert.Equal((0, 7), (options.DelayMs, options.Concurrency));
        // The admin API's knobs show the same values: the profile is configuration like any other.
        var knobs = await rng.Client.GetFromJsonAsync<JsonElement>("/admin/knobs", Ct);
        Assert.Equal("7", knobs.GetProperty("RNG_CONCURRENCY").GetString());
    }

    [Fact]
    public async Task AFastWorkerMinesAtTheFastDifficultyWithoutACoinLineEach()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var peers = await FastPeers.StartAsync();
        await using var fast = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["DIFFICULTY"] = "0", ["WORKER_CONCURRENCY"] = "2" }, Profile.Fast, peers.With(store));
        await using var classic = await RunningService.StartAsync(
            ServiceNames.Worker, new() { ["WORKER_DELAY_MS"] = "0" }, Profile.Classic, peers.With(store));

        var options = fast.Get<IOptions<WorkerOptions>>().Value;
        Assert.Equal((0, 2, "0"), (options.DelayMs, options.Concurrency, options.Difficulty));
        var stats = (Fast: fast.Get<MiningStats>(), Classic: classic.Get<MiningStats>());
        await Eventually.TrueAsync(() => stats.Fast.CoinsFound >= 5 && stats.Classic.CoinsFound >= 5, "both workers find coins");

        Assert.DoesNotContain("Coin found", fast.Log.Text, StringComparison.Ordinal);
        Assert.Contains("Coin found", classic.Log.Text, StringComparison.Ordinal);

        await using var defaults = await RunningService.StartAsync(ServiceNames.Worker, profile: Profile.Fast, peers: peers.With(store));
        var fastDefaults = defaults.Get<IOptions<WorkerOptions>>().Value;
        Assert.Equal((0, 64, WorkerOptions.FastDifficulty), (fastDefaults.DelayMs, fastDefaults.Concurrency, fastDefaults.Difficulty));
    }
}
