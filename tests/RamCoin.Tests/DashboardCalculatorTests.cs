using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using RamCoin.WebUI;
using static RamCoin.Tests.Infrastructure.MadeUpTicks;

namespace RamCoin.Tests;

/// <summary>
/// The dashboard's arithmetic without a store or a browser: rates over the window, per-worker rates, the merge of
/// the workers' peer reports, the bottleneck hint, the coin check, and inputs no worker writes. Plus the
/// broadcaster's streams on real pipes. Milliseconds each.
/// </summary>
public sealed class DashboardCalculatorTests
{
    private static StoreSample Sample(
        long? hashes, long? coins = 0, Dictionary<string, long>? totals = null, Dictionary<string, double>? seen = null,
        Dictionary<string, WorkerReport>? reports = null, List<StoredCoin>? recent = null) =>
        new(hashes, coins, totals ?? [], seen ?? [], reports ?? [], recent ?? []);

    private static PeerReport Peer(double p50, long calls, int inFlight = 0, Dictionary<string, PeerInstanceReport>? instances = null) =>
        new(p50, p50 * 2, p50 * 3, inFlight, calls, instances ?? []);

    private static WorkerReport Report(int delayMs, PeerReport rng, PeerReport hasher) => new("1.0", delayMs, 1, T0, rng, hasher);

    private static string Json(Dashboard dashboard) => JsonSerializer.Serialize(dashboard, JsonSerializerOptions.Web);

    [Fact]
    public void RateIsTheCounterGrowthOverTheLastTenSeconds()
    {
        var calculator = new DashboardCalculator("0", T0);
        Dashboard last = null!;
        // 100 hashes a second for 30 s, but a burst of 10,000 at the start: it is out of the window by the end.
        for (var t = 0; t <= 30; t++)
        {
            last = calculator.Compute(Sample(10_000 + (100L * t)), T0 + t, WebUIInstance);
        }

        Assert.Equal(100, last.Rate);
        Assert.Equal(13_000, last.Hashes);
        Assert.False(last.Stale);
        Assert.Equal(30, last.UptimeSeconds);
    }

    [Fact]
    public void TheFirstSampleHasNoRateAndCoinsPerMinuteSpanTheMinute()
    {
        var calculator = new DashboardCalculator("0", T0);
        Assert.Equal(0, calculator.Compute(Sample(500, coins: 7), T0, WebUIInstance).Rate);
        Dashboard last = null!;
        for (var t = 1; t <= 90; t++)
        {
            // One coin every 2 s: 30 a minute, measured over the last minute only.
            last = calculator.Compute(Sample(500 + t, coins: 7 + (t / 2)), T0 + t, WebUIInstance);
        }

        Assert.Equal(30, last.CoinsPerMinute);
    }

    [Fact]
    public void ACounterThatGoesDownGivesRateZeroAndAnUnusableOneCountsAsUnchanged()
    {
        var calculator = new DashboardCalculator("0", T0);
        calculator.Compute(Sample(1_000_000), T0, WebUIInstance);
        // A FLUSHALL: the counter restarts; the rate is 0, never negative.
        var reset = calculator.Compute(Sample(10), T0 + 1, WebUIInstance);
        Assert.Equal(0, reset.Rate);
        Assert.Equal(10, reset.Hashes);

        // A tick that could not read the counter (null) or got a negative one keeps the last value: no jump.
        var missing = calculator.Compute(Sample(null), T0 + 2, WebUIInstance);
        var negative = calculator.Compute(Sample(-5, coins: -3), T0 + 3, WebUIInstance);
        Assert.Equal(10, missing.Hashes);
        Assert.Equal(10, negative.Hashes);
        Assert.Equal(0, negative.Coins);
        Assert.Equal(0, negative.Rate);
    }

    [Fact]
    public void HugeCountersNeitherOverflowNorGoNegative()
    {
        var calculator = new DashboardCalculator("0", T0);
        calculator.Compute(Sample(0, totals: new() { ["w"] = 0 }, seen: new() { ["w"] = T0 }), T0, WebUIInstance);
        var big = calculator.Compute(Sample(long.MaxValue, coins: long.MaxValue, totals: new() { ["w"] = long.MaxValue }, seen: new() { ["w"] = T0 + 1 }), T0 + 1, WebUIInstance);
        Assert.Equal(long.MaxValue, big.Hashes);
        Assert.True(big.Rate > 9e18, $"rate {big.Rate}");
        Assert.True(big.Workers.Single().Rate > 9e18);
        var back = calculator.Compute(Sample(0, totals: new() { ["w"] = 0 }, seen: new() { ["w"] = T0 + 2 }), T0 + 2, WebUIInstance);
        Assert.Equal(0, back.Workers.Single().Rate);
        _ = Json(back);
    }

    [Fact]
    public void EachWorkerHasItsOwnRateFromTheOldestSampleThatKnowsIt()
    {
        var calculator = new DashboardCalculator("0", T0);
        Dashboard last = null!;
        for (var t = 0; t <= 20; t++)
        {
            var totals = new Dictionary<string, long> { ["a"] = 10L * t };
            var seen = new Dictionary<string, double> { ["a"] = T0 + t, ["gone"] = T0 - 31 };
            totals["gone"] = 5;
            if (t >= 16)
            {
                // A new pod: its rate starts from its first sample, not from zero at the window's start.
                totals["b"] = 1_000 + (3L * (t - 16));
                seen["b"] = T0 + t - 2;
            }

            last = calculator.Compute(Sample(totals.Values.Sum(), totals: totals, seen: seen), T0 + t, WebUIInstance);
        }

        Assert.Equal(["a", "b"], last.Workers.Select(w => w.Instance));
        Assert.Equal(10, last.Workers[0].Rate);
        Assert.Equal(3, last.Workers[1].Rate);
        Assert.Equal(2, last.Workers[1].SeenSecondsAgo);
        Assert.Equal("?", last.Workers[1].Version);
    }

    [Fact]
    public void WorkersSeenAtNaNOrNeverAreLeftOutAndOneSeenInTheFutureShowsAsJustSeen()
    {
        var calculator = new DashboardCalculator("0", T0);
        var dashboard = calculator.Compute(
            Sample(1, totals: new() { ["nan"] = 1, ["never"] = 1, ["future"] = 1, ["negative"] = -1 }, seen: new() { ["nan"] = double.NaN, ["future"] = T0 + 100, ["negative"] = T0 }),
            T0, WebUIInstance);
        Assert.Equal("future", Assert.Single(dashboard.Workers).Instance);
        Assert.Equal(0, dashboard.Workers[0].SeenSecondsAgo);
        _ = Json(dashboard);
    }

    [Fact]
    public void MergeWeightsLatencyByCallsSumsInFlightAndMergesInstances()
    {
        var merged = DashboardCalculator.Merge(
        [
            Peer(100, calls: 30, inFlight: 1, instances: new() { ["rng-1"] = new(20, "1.0"), ["rng-2"] = new(10, "1.0") }),
            Peer(200, calls: 10, inFlight: 2, instances: new() { ["rng-2"] = new(10, "1.1") }),
            // Neither calls nor in flight: an idle worker's report does not pull the latency to zero.
            Peer(0, calls: 0),
        ]);
        Assert.Equal(125, merged.P50Ms);
        Assert.Equal(250, merged.P95Ms);
        Assert.Equal(3, merged.InFlight);
        Assert.Equal([new PeerInstanceView("rng-1", 20, "1.0"), new PeerInstanceView("rng-2", 20, "1.1")], merged.Instances);
        var none = DashboardCalculator.Merge([]);
        Assert.Equal((0.0, 0.0, 0, 0), (none.P50Ms, none.P95Ms, none.InFlight, none.Instances.Count));
    }

    [Fact]
    public void MergeOfTheLargestCountsThousandsOfWorkersReportDoesNotOverflow()
    {
        // Each report is valid on its own (DashboardChecks' maxima); their sums pass a long and an int.
        var report = Peer(5, DashboardChecks.MaxCount, inFlight: 1_000_000, instances: new() { ["rng"] = new(DashboardChecks.MaxCount, "1.0") });
        var merged = DashboardCalculator.Merge(Enumerable.Repeat(report, 3_000));
        Assert.Equal(5, merged.P50Ms);
        Assert.Equal(int.MaxValue, merged.InFlight);
        Assert.Equal(DashboardChecks.MaxCount, Assert.Single(merged.Instances).Calls);
    }

    [Fact]
    public void ReportsWithNumbersNoWorkerMeasuredAreLeftOutOfTheMerge()
    {
        var merged = DashboardCalculator.Merge([Peer(double.NaN, 10), Peer(-1, 10), Peer(double.PositiveInfinity, 10), Peer(40, -5), Peer(20, 10)]);
        Assert.Equal(20, merged.P50Ms);

        // Through Compute too: the dashboard's JSON never meets a NaN (System.Text.Json would throw).
        var calculator = new DashboardCalculator("0", T0);
        var bad = Report(100, Peer(double.NaN, 5), Peer(1, 5)) with { Version = "" };
        var dashboard = calculator.Compute(
            Sample(1, totals: new() { ["w"] = 1 }, seen: new() { ["w"] = T0 }, reports: new() { ["w"] = bad }), T0, WebUIInstance);
        Assert.Equal(0, dashboard.Rng.P50Ms);
        Assert.Null(dashboard.Hint);
        Assert.Equal("?", dashboard.Workers.Single().Version);
        Assert.DoesNotContain("NaN", Json(dashboard), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(100, 100, 100, "No single bottleneck: rng 100 ms, hasher 100 ms, pause 100 ms per loop.")]
    [InlineData(100, 800, 100, "rng is the bottleneck: 800 ms of each 1000 ms loop. Scale rng (or raise RNG_CONCURRENCY).")]
    [InlineData(100, 100, 800, "hasher is the bottleneck: 800 ms of each 1000 ms loop. Scale hasher.")]
    [InlineData(800, 100, 100, "Workers spend 800 ms of each 1000 ms loop waiting (WORKER_DELAY_MS): add workers to mine faster.")]
    [InlineData(0, 1.5, 2, "Loops take about 3.5 ms with no pauses (fast profile): the machine's CPU is the limit, not one service.")]
    public void TheHintNamesWhatDominatesTheLoop(int delayMs, double rngMs, double hasherMs, string expected)
    {
        var rng = new PeerView(rngMs, rngMs, 0, []);
        var hasher = new PeerView(hasherMs, hasherMs, 0, []);
        Assert.Equal(expected, DashboardCalculator.Hint([Report(delayMs, Peer(rngMs, 1), Peer(hasherMs, 1))], rng, hasher));
    }

    [Fact]
    public void NoHintWithoutReportsOrWithoutMeasuredCalls()
    {
        var peer = new PeerView(100, 100, 0, []);
        Assert.Null(DashboardCalculator.Hint([], peer, peer));
        Assert.Null(DashboardCalculator.Hint([Report(100, Peer(0, 0), Peer(0, 0))], new PeerView(0, 0, 0, []), new PeerView(0, 0, 0, [])));
    }

    [Fact]
    public void ACoinChecksOutWhenItsBytesHashToItsKeyAndTheKeyHasThePrefix()
    {
        var bytes = Encoding.ASCII.GetBytes("thirty-two bytes from rng, here.");
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.True(DashboardCalculator.Verified(hash, bytes, ""));
        Assert.True(DashboardCalculator.Verified(hash, bytes, hash[..2]));
        Assert.False(DashboardCalculator.Verified(hash, bytes, hash[0] == 'f' ? "0" : "f"), "the key lacks the prefix");
        Assert.False(DashboardCalculator.Verified(hash, [.. bytes, 0], ""), "other bytes");
        Assert.False(DashboardCalculator.Verified(hash, null, ""), "not in the wallet");
        Assert.False(DashboardCalculator.Verified(hash.ToUpperInvariant(), bytes, ""), "the key is lowercase hex");
        Assert.Equal("00", DashboardCalculator.Prefix(" 00 "));
        Assert.Equal("0", DashboardCalculator.Prefix(null));

        var calculator = new DashboardCalculator("", T0);
        var dashboard = calculator.Compute(Sample(1, recent: [new(new(hash, T0, "w"), bytes), new(new(new string('a', 64), T0, "w"), bytes)]), T0, WebUIInstance);
        Assert.Equal([true, false], dashboard.RecentCoins.Select(c => c.Verified));
    }

    [Fact]
    public void AnUnavailableStoreRepeatsTheLastDashboardMarkedStaleSinceTheLastFreshOne()
    {
        var calculator = new DashboardCalculator("0", T0);
        var empty = calculator.Unavailable(T0 + 1, WebUIInstance);
        Assert.True(empty.Stale);
        Assert.Null(empty.StaleSince);
        Assert.Equal(0, empty.Hashes);

        calculator.Compute(Sample(40), T0 + 2, WebUIInstance);
        calculator.Unavailable(T0 + 3, WebUIInstance);
        var stale = calculator.Unavailable(T0 + 4, WebUIInstance);
        Assert.True(stale.Stale);
        Assert.Equal(T0 + 2, stale.StaleSince);
        Assert.Equal(40, stale.Hashes);
        Assert.Equal(T0 + 4, stale.Now);
        Assert.Equal(4, stale.UptimeSeconds);
        Assert.False(calculator.Compute(Sample(41), T0 + 5, WebUIInstance).Stale);
    }

    [Fact]
    public async Task EveryStreamGetsTheLatestFrameAtOnceThenEachNewOne()
    {
        var broadcaster = new DashboardBroadcaster();
        broadcaster.Publish("first"u8.ToArray());
        var pipes = Enumerable.Range(0, 3).Select(_ => new Pipe()).ToArray();
        using var stop = new CancellationTokenSource();
        var streams = pipes.Select(p => broadcaster.StreamAsync(p.Writer, stop.Token)).ToArray();
        broadcaster.Publish("second"u8.ToArray());
        foreach (var pipe in pipes)
        {
            Assert.Equal("firstsecond", await ReadAsync(pipe.Reader, "firstsecond".Length));
        }

        await stop.CancelAsync();
        await Task.WhenAll(streams).WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task AClassroomOfStreamsSplitOverTheCoresGetsEveryFrameInOrder()
    {
        // Enough streams for one share per core (and an odd count, so the shares are uneven): each gets each frame once.
        var count = (DashboardBroadcaster.StreamsPerPart * Environment.ProcessorCount) + 7;
        var broadcaster = new DashboardBroadcaster();
        var pipes = Enumerable.Range(0, count).Select(_ => new Pipe()).ToArray();
        var ct = TestContext.Current.CancellationToken;
        var streams = pipes.Select(p => broadcaster.StreamAsync(p.Writer, ct)).ToArray();
        broadcaster.Publish("a|"u8.ToArray());
        broadcaster.Publish("b|"u8.ToArray());
        broadcaster.Publish("c|"u8.ToArray());
        broadcaster.Close();
        await Task.WhenAll(streams).WaitAsync(TimeSpan.FromSeconds(10), ct);
        for (var i = 0; i < count; i++)
        {
            pipes[i].Writer.Complete();
            var read = await pipes[i].Reader.ReadAsync(ct);
            Assert.True(read.IsCompleted);
            Assert.Equal("a|b|c|", Encoding.ASCII.GetString(read.Buffer));
        }
    }

    [Fact]
    public async Task AStalledViewerHoldsNoOneBackAndGetsTheNewestFrameWhenItReadsAgain()
    {
        var broadcaster = new DashboardBroadcaster();
        // A viewer whose socket is full: its pipe stops taking data past 8 bytes until it is read.
        var stalled = new Pipe(new PipeOptions(pauseWriterThreshold: 8, resumeWriterThreshold: 4, useSynchronizationContext: false));
        var fast = new Pipe();
        var ct = TestContext.Current.CancellationToken;
        var stalledStream = broadcaster.StreamAsync(stalled.Writer, ct);
        var fastStream = broadcaster.StreamAsync(fast.Writer, ct);
        broadcaster.Publish("frame-1|"u8.ToArray());
        broadcaster.Publish("frame-2|"u8.ToArray());
        broadcaster.Publish("frame-3|"u8.ToArray());
        Assert.Equal("frame-1|frame-2|frame-3|", await ReadAsync(fast.Reader, 24));

        // The frames it missed are dropped: after the one under way, the newest.
        Assert.Equal("frame-1|frame-3|", await ReadAsync(stalled.Reader, 16));
        broadcaster.Publish("frame-4|"u8.ToArray());
        Assert.Equal("frame-4|", await ReadAsync(stalled.Reader, 8));

        // A viewer that went away (its reader completed) is counted out at the next frame; the others go on.
        await stalled.Reader.CompleteAsync();
        broadcaster.Publish("frame-5|"u8.ToArray());
        await stalledStream.WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.Equal("frame-4|frame-5|", await ReadAsync(fast.Reader, 16));

        broadcaster.Close();
        await fastStream.WaitAsync(TimeSpan.FromSeconds(5), ct);
        await broadcaster.StreamAsync(new Pipe().Writer, ct).WaitAsync(TimeSpan.FromSeconds(5), ct);
    }

    [Fact]
    public void TheStreamCapCountsPlacesAndGivesThemBack()
    {
        var broadcaster = new DashboardBroadcaster();
        Assert.True(broadcaster.TryEnter(2));
        Assert.True(broadcaster.TryEnter(2));
        Assert.False(broadcaster.TryEnter(2));
        Assert.Equal(2, broadcaster.Viewers);
        broadcaster.Leave();
        Assert.True(broadcaster.TryEnter(2));
    }

    // The expected ceiling (ExpectedCeiling): the classic profile's numbers, and what the model does with old, fast
    // and foreign reports.
    private static PeerInstanceReport Instance(int? concurrency, int? serviceMs, int? extraMs = null, long calls = 10) =>
        new(calls, "1.0", concurrency, serviceMs, extraMs);

    /// <summary>One worker's report: its loops and pause, and the rng and hasher instances it called.</summary>
    private static WorkerReport Loops(
        int loops, int delayMs, Dictionary<string, PeerInstanceReport> rng, Dictionary<string, PeerInstanceReport>? hasher = null,
        double rngP50 = 100, double hasherP50 = 100) =>
        new("1.0", delayMs, loops, T0, Peer(rngP50, 10, instances: rng), Peer(hasherP50, 10, instances: hasher ?? new() { ["hasher-1"] = Instance(null, 100) }));

    private static Ceiling? CeilingOf(params WorkerReport[] reports) => ExpectedCeiling.Of(reports);

    [Fact]
    public void TheClassicCeilingIsOneRngServingOneRequestEvery100MsWhateverTheWorkers()
    {
        var calculator = new DashboardCalculator("0", T0);
        var dashboard = calculator.Compute(
            Sample(0, totals: new() { ["w"] = 0 }, seen: new() { ["w"] = T0 }, reports: new() { ["w"] = Loops(10, 100, new() { ["rng-1"] = Instance(1, 100) }) }),
            T0, WebUIInstance);

        var ceiling = Assert.IsType<Ceiling>(dashboard.Ceiling);
        Assert.Equal(10, ceiling.HashesPerSecond);
        Assert.Equal("rng", ceiling.LimitedBy);
        Assert.Equal("1 rng × 1 request at a time ÷ 100 ms", ceiling.Explanation);
        // hasher serves every request at once: no term of its own; the workers' 10 loops of 300 ms could do 33.
        Assert.Equal(["workers", "rng"], ceiling.Terms.Select(t => t.Part));
        Assert.Equal(33.33, ceiling.Terms[0].HashesPerSecond);
        Assert.Equal("1 worker × 10 loops ÷ 300 ms (100 ms pause + rng 100 ms + hasher 100 ms)", ceiling.Terms[0].Explanation);

        // The names that ramcoin check reads.
        var json = JsonDocument.Parse(Json(dashboard)).RootElement.GetProperty("ceiling");
        Assert.Equal(10, json.GetProperty("hashesPerSecond").GetDouble());
        Assert.Equal("rng", json.GetProperty("limitedBy").GetString());
        Assert.Equal("1 rng × 1 request at a time ÷ 100 ms", json.GetProperty("explanation").GetString());
        Assert.Equal("workers", json.GetProperty("terms")[0].GetProperty("part").GetString());
        Assert.Equal(33.33, json.GetProperty("terms")[0].GetProperty("hashesPerSecond").GetDouble());
        Assert.StartsWith("1 worker", json.GetProperty("terms")[0].GetProperty("explanation").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void MoreConcurrencyOrMoreRngInstancesLiftTheCeilingUntilTheWorkersSetIt()
    {
        var concurrency2 = CeilingOf(Loops(10, 100, new() { ["rng-1"] = Instance(2, 100) }))!;
        Assert.Equal((20.0, "rng", "1 rng × 2 requests at a time ÷ 100 ms"), (concurrency2.HashesPerSecond, concurrency2.LimitedBy, concurrency2.Explanation));

        var daemonSet = CeilingOf(Loops(10, 100, new() { ["rng-a"] = Instance(1, 100), ["rng-b"] = Instance(1, 100), ["rng-c"] = Instance(1, 100) }))!;
        Assert.Equal((30.0, "rng", "3 rng × 1 request at a time ÷ 100 ms"), (daemonSet.HashesPerSecond, daemonSet.LimitedBy, daemonSet.Explanation));

        var mixed = CeilingOf(Loops(10, 100, new() { ["rng-a"] = Instance(1, 100), ["rng-b"] = Instance(2, 50) }))!;
        Assert.Equal((50.0, "1 rng × 1 request at a time ÷ 100 ms + 1 rng × 2 requests at a time ÷ 50 ms"), (mixed.Terms[1].HashesPerSecond, mixed.Terms[1].Explanation));

        // rng could do 40 now; the ten loops of 300 ms cannot.
        var workers = CeilingOf(Loops(10, 100, new() { ["rng-1"] = Instance(4, 100) }))!;
        Assert.Equal((33.33, "workers"), (workers.HashesPerSecond, workers.LimitedBy));

        // One classic worker: 1 loop of 300 ms.
        var one = CeilingOf(Loops(1, 100, new() { ["rng-1"] = Instance(1, 100) }))!;
        Assert.Equal((3.33, "workers", "1 worker × 1 loop ÷ 300 ms (100 ms pause + rng 100 ms + hasher 100 ms)"), (one.HashesPerSecond, one.LimitedBy, one.Explanation));
    }

    [Fact]
    public void TheWorkersTermSumsEveryLiveWorkersLoopsAndADepartedWorkerLeavesIt()
    {
        var calculator = new DashboardCalculator("0", T0);
        var rng = new Dictionary<string, PeerInstanceReport> { ["rng-1"] = Instance(100, 100) };
        var sample = Sample(
            0,
            totals: new() { ["a"] = 0, ["b"] = 0, ["gone"] = 0 },
            seen: new() { ["a"] = T0, ["b"] = T0, ["gone"] = T0 - 60 },
            reports: new() { ["a"] = Loops(3, 100, rng), ["b"] = Loops(3, 100, rng), ["gone"] = Loops(300, 100, rng) });

        var ceiling = calculator.Compute(sample, T0, WebUIInstance).Ceiling!;

        Assert.Equal(("workers", 20.0, "2 workers × 3 loops ÷ 300 ms (100 ms pause + rng 100 ms + hasher 100 ms)"), (ceiling.LimitedBy, ceiling.HashesPerSecond, ceiling.Explanation));
        Assert.Equal(1000, ceiling.Terms.Single(t => t.Part == "rng").HashesPerSecond);

        // Workers of different kinds are listed; past three kinds, summed up.
        var two = CeilingOf(Loops(1, 100, rng), Loops(2, 0, rng))!;
        Assert.Equal("1 worker × 1 loop ÷ 300 ms + 1 worker × 2 loops ÷ 200 ms", two.Explanation);
        Assert.Equal(13.33, two.HashesPerSecond);
        var many = CeilingOf(Loops(1, 0, rng), Loops(1, 100, rng), Loops(1, 200, rng), Loops(1, 300, rng))!;
        Assert.Equal("4 workers, 4 loops in all, loops of 200–500 ms", many.Explanation);
    }

    [Fact]
    public void InjectedLatencyLengthensTheLoopButHoldsNoPlaceInRngsLimit()
    {
        var ceiling = CeilingOf(Loops(10, 100, new() { ["rng-1"] = Instance(1, 100, extraMs: 100) }))!;

        Assert.Equal(25, ceiling.Terms.Single(t => t.Part == "workers").HashesPerSecond);
        Assert.Contains("rng 200 ms", ceiling.Terms.Single(t => t.Part == "workers").Explanation, StringComparison.Ordinal);
        Assert.Equal((10.0, "rng"), (ceiling.HashesPerSecond, ceiling.LimitedBy));
    }

    [Fact]
    public void AHasherWithAConcurrencyLimitHasATermToo()
    {
        var ceiling = CeilingOf(Loops(10, 100, new() { ["rng-1"] = Instance(8, 100) }, new() { ["hasher-1"] = Instance(2, 200) }))!;

        Assert.Equal((10.0, "hasher", "1 hasher × 2 requests at a time ÷ 200 ms"), (ceiling.HashesPerSecond, ceiling.LimitedBy, ceiling.Explanation));
        Assert.Equal(["workers", "rng", "hasher"], ceiling.Terms.Select(t => t.Part));
    }

    [Fact]
    public void AnOldRngThatSaysNothingCountsWithItsMeasuredLatencyAndTheExplanationSaysSo()
    {
        // DockerCoins' rng sends no capacity headers: the worker saw only its latency (800 ms, mostly queueing).
        var ceiling = CeilingOf(Loops(10, 100, new() { ["old-rng"] = new PeerInstanceReport(10, "?") }, rngP50: 800))!;

        Assert.Equal((10.0, "workers"), (ceiling.HashesPerSecond, ceiling.LimitedBy));
        Assert.Equal(
            "1 worker × 10 loops ÷ 1000 ms (100 ms pause + rng 800 ms measured + hasher 100 ms); rng says nothing of its service time (an older rng or worker): its measured latency stands in",
            ceiling.Explanation);
        Assert.DoesNotContain(ceiling.Terms, t => t.Part == "rng");
    }

    [Fact]
    public void TheFastProfileHasNoPeerLimitAndItsLoopsCountAsMeasured()
    {
        var ceiling = CeilingOf(Loops(64, 0, new() { ["rng-1"] = Instance(1024, 0) }, new() { ["hasher-1"] = Instance(null, 0) }, rngP50: 2, hasherP50: 2))!;

        Assert.Equal((16_000.0, "workers"), (ceiling.HashesPerSecond, ceiling.LimitedBy));
        Assert.Equal("1 worker × 64 loops ÷ 4 ms (0 ms pause + rng 2 ms measured + hasher 2 ms measured)", ceiling.Explanation);
        Assert.Single(ceiling.Terms);
    }

    [Fact]
    public void NothingKnownYetGivesNoCeiling()
    {
        Assert.Null(CeilingOf());
        // A worker that has not made a call yet: no latency, no instances, no pause.
        Assert.Null(CeilingOf(new WorkerReport("1.0", 0, 1, T0, Peer(0, 0), Peer(0, 0))));
        var calculator = new DashboardCalculator("0", T0);
        Assert.Null(calculator.Compute(Sample(5), T0, WebUIInstance).Ceiling);
        Assert.Contains("\"ceiling\":null", Json(calculator.Compute(Sample(5), T0 + 1, WebUIInstance)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 100, null)]
    [InlineData(-1, 100, null)]
    [InlineData(1_000_001, 100, null)]
    [InlineData(1, -1, null)]
    [InlineData(1, 3_600_001, null)]
    [InlineData(1, 100, -5)]
    public void AReportWithAnImpossibleCapacityIsLeftOutWhole(int concurrency, int serviceMs, int? extraMs)
    {
        var calculator = new DashboardCalculator("0", T0);
        var bad = Loops(10, 100, new() { ["rng-bad"] = Instance(concurrency, serviceMs, extraMs) });
        var dashboard = calculator.Compute(Sample(1, totals: new() { ["w"] = 1 }, seen: new() { ["w"] = T0 }, reports: new() { ["w"] = bad }), T0, WebUIInstance);

        Assert.False(DashboardChecks.Usable(bad));
        Assert.Null(dashboard.Ceiling);
        Assert.Empty(dashboard.Rng.Instances);
    }

    [Fact]
    public void OldAndNewWorkersReportsReadBothWays()
    {
        // An old worker's instance record has no capacity fields: they read as absent.
        var old = JsonSerializer.Deserialize("""{"calls":7,"version":"1.0"}""", StoreJsonContext.Default.PeerInstanceReport)!;
        Assert.Equal(new PeerInstanceReport(7, "1.0"), old);
        Assert.Null(old.ServiceMs);

        // A new one's round-trips; an old reader ignores the fields it does not know (System.Text.Json's default).
        var json = JsonSerializer.Serialize(Instance(2, 100, 5), StoreJsonContext.Default.PeerInstanceReport);
        Assert.Equal("""{"calls":10,"version":"1.0","concurrency":2,"serviceMs":100,"extraLatencyMs":5}""", json);
        Assert.Equal(Instance(2, 100, 5), JsonSerializer.Deserialize(json, StoreJsonContext.Default.PeerInstanceReport));
    }

    /// <summary>Reads (and consumes) until <paramref name="length"/> bytes came, or the writer completed.</summary>
    private static async Task<string> ReadAsync(PipeReader reader, int length)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        var text = new StringBuilder();
        while (text.Length < length)
        {
            var result = await reader.ReadAsync(timeout.Token);
            text.Append(Encoding.ASCII.GetString(result.Buffer));
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        return text.ToString();
    }
}
