using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RamCoin.Tests;

/// <summary>
/// Everything the worker reads from the store is untrusted (another student's worker or redis-cli writes anything
/// anywhere): a key of the wrong type, garbage or an absurd number must not crash it, make it spin or lose counts.
/// </summary>
public sealed class WorkerStoreInputTests
{
    private const string Me = "input-test";

    /// <summary>What a careless student might write, by name: the key it spoils, and how.</summary>
    private static readonly Dictionary<string, (string Key, Func<IDatabase, string, Task> Spoil)> Spoiled = new()
    {
        ["hashes-is-a-hash"] = (StoreKeys.Hashes, (db, key) => db.HashSetAsync(key, "oops", 1)),
        ["hashes-is-not-a-number"] = (StoreKeys.Hashes, (db, key) => db.StringSetAsync(key, "lots")),
        // The largest value: any batch overflows it (with 10 below, a first batch of under 11 hashes on a loaded
        // machine still fitted, and was written).
        ["hashes-would-overflow"] = (StoreKeys.Hashes, (db, key) => db.StringSetAsync(key, long.MaxValue)),
        ["wallet-is-a-string"] = (StoreKeys.Wallet, (db, key) => db.StringSetAsync(key, "empty")),
        ["worker-hashes-is-a-list"] = (StoreKeys.WorkerHashes, (db, key) => db.ListRightPushAsync(key, "x")),
        ["flushes-is-a-string"] = (StoreKeys.WorkerFlushes, (db, key) => db.StringSetAsync(key, "x")),
        ["seen-is-a-string"] = (StoreKeys.WorkerSeen, (db, key) => db.StringSetAsync(key, "x")),
        ["telemetry-is-a-list"] = (StoreKeys.WorkerTelemetry, (db, key) => db.ListRightPushAsync(key, "x")),
        ["recent-coins-is-a-hash"] = (StoreKeys.RecentCoins, (db, key) => db.HashSetAsync(key, "x", 1)),
    };

    public static TheoryData<string, string> Corruptions()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in new[] { "garnet", "redis-server" })
        {
            foreach (var corruption in Spoiled.Keys)
            {
                data.Add(kind, corruption);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Corruptions))]
    public async Task AKeyOfTheWrongTypeKeepsItsCountsInMemoryWarnsOnceAndTheyLandWhenItIsUsableAgain(string kind, string corruption)
    {
        await using var rig = await MiningRig.StartAsync(kind);
        var db = await rig.DatabaseAsync();
        var (key, spoil) = Spoiled[corruption];
        await spoil(db, key);
        await using var worker = await StartWorkerAsync(rig);
        var stats = worker.Get<MiningStats>();
        var warnings = worker.Get<StoreKeyWarnings>();

        await Eventually.TrueAsync(() => stats.Computed >= 300 && warnings.Logged >= 1, $"the worker mines and warns about {key}");
        var computedWhileBroken = stats.Computed;
        await Eventually.TrueAsync(() => stats.Computed > computedWhileBroken + 300, "mining goes on while the key is unusable");
        // Several flushes a second were refused; one warning a minute per key.
        Assert.Equal([key], warnings.Keys);
        Assert.Equal(1, warnings.Logged);
        switch (corruption)
        {
            case "hashes-is-a-hash" or "hashes-is-not-a-number" or "hashes-would-overflow" or "flushes-is-a-string":
                Assert.Equal(0, stats.Written);
                Assert.True(stats.Errors > 0, "a refused write counts as an error");
                break;
            case "wallet-is-a-string":
                Assert.True(stats.CoinsFound > 0 && stats.CoinsWritten == 0, $"{stats.CoinsFound} coins found, none written");
                Assert.True(stats.Errors > 0, "a refused write counts as an error");
                break;
        }

        await db.KeyDeleteAsync(key);
        var computedAtRepair = stats.Computed;
        await Eventually.TrueAsync(() => stats.Written >= computedAtRepair, "what waited in memory lands once the key is usable");
        await worker.DisposeAsync();

        Assert.Equal(stats.Computed, stats.Written);
        Assert.Equal(stats.Computed, (long)await db.StringGetAsync(StoreKeys.Hashes));
        Assert.Equal(stats.Computed, (long)await db.HashGetAsync(StoreKeys.WorkerHashes, Me));
        var wallet = await db.HashGetAllAsync(StoreKeys.Wallet);
        Assert.Equal(stats.CoinsFound, stats.CoinsWritten);
        Assert.Equal(stats.CoinsFound, wallet.Length);
        WalletAssert.AllVerify(wallet);
    }

    [Theory]
    [StoreKinds]
    public async Task AForeignSequenceInTheFlushLedgerIsNeitherLostNorCountedTwice(string kind)
    {
        await using var rig = await MiningRig.StartAsync(kind);
        await using var worker = await WritingWorker.StartAsync(rig);

        foreach (var foreign in new[] { "abc", "9000000000000000000", "-3", "" })
        {
            await worker.Db.HashSetAsync(StoreKeys.WorkerFlushes, worker.RunKey, foreign);
            var written = worker.Stats.Written;
            await Eventually.TrueAsync(() => worker.Stats.Written > written + 50, $"the worker writes on after its ledger entry became '{foreign}'");
        }

        Assert.Equal([StoreKeys.WorkerFlushes], worker.Service.Get<StoreKeyWarnings>().Keys);
        Assert.Equal(1, worker.Service.Get<StoreKeyWarnings>().Logged);
        await worker.DisposeAsync();

        Assert.Equal(worker.Stats.Computed, worker.Stats.Written);
        Assert.Equal(worker.Stats.Computed, (long)await worker.Db.StringGetAsync(StoreKeys.Hashes));
        Assert.Equal(worker.Stats.CoinsFound, await worker.Db.HashLengthAsync(StoreKeys.Wallet));
    }

    [Theory]
    [StoreKinds]
    public async Task AForgedNextSequenceInTheFlushLedgerIsNotTakenAsThisWorkersBatch(string kind)
    {
        await using var rig = await MiningRig.StartAsync(kind);
        await using var worker = await WritingWorker.StartAsync(rig);
        // Another client advances the worker's ledger entry to what its next batch would record, over and over.
        var forged = 0;
        for (var round = 0; round < 15; round++)
        {
            var entry = (string?)await worker.Db.HashGetAsync(StoreKeys.WorkerFlushes, worker.RunKey);
            if (entry is not null && Advanced(entry) is { } next)
            {
                await worker.Db.HashSetAsync(StoreKeys.WorkerFlushes, worker.RunKey, next);
                forged++;
            }

            var written = worker.Stats.Written;
            await Eventually.TrueAsync(() => worker.Stats.Written > written, $"the worker writes on after forgery {round}", timeoutSeconds: 10);
        }

        Assert.True(forged >= 10, $"{forged} forgeries");

        // A forgery just before the stop: the last flush meets it, and still writes everything.
        var last = (string?)await worker.Db.HashGetAsync(StoreKeys.WorkerFlushes, worker.RunKey);
        await worker.Db.HashSetAsync(StoreKeys.WorkerFlushes, worker.RunKey, Advanced(last!)!);
        await worker.DisposeAsync();

        // What the worker says it wrote is what the store holds: no batch was taken as applied when it was not.
        Assert.Equal(worker.Stats.Written, (long)await worker.Db.StringGetAsync(StoreKeys.Hashes));
        Assert.Equal(worker.Stats.Computed, worker.Stats.Written);
        Assert.Equal(worker.Stats.CoinsWritten, await worker.Db.HashLengthAsync(StoreKeys.Wallet));
    }

    /// <summary>A ledger entry with its leading number one higher and the rest kept, as a forger would make the next one.</summary>
    private static string? Advanced(string entry)
    {
        var digits = entry.TakeWhile(char.IsAsciiDigit).Count();
        return digits > 0 && long.TryParse(entry[..digits], CultureInfo.InvariantCulture, out var sequence)
            ? (sequence + 1).ToString(CultureInfo.InvariantCulture) + entry[digits..]
            : null;
    }

    [Theory]
    [StoreKinds]
    public async Task DepartedWorkersArePrunedLiveOnesAndUnknownOnesStayAndCountsStayExactlyOnce(string kind)
    {
        await using var rig = await MiningRig.StartAsync(kind);
        var db = await rig.DatabaseAsync();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        const long Earlier = 547;
        await db.StringSetAsync(StoreKeys.Hashes, Earlier);
        // A pod of an earlier rollout, gone two hours ago, with two runs (a restart) in the ledger.
        await SeedAsync(db, "worker-old-pod", seen: $"{now - 7200}", hashes: 500, runs: ["worker-old-pod/aaaa", "worker-old-pod/bbbb"]);
        // One that wrote 30 s ago: not gone.
        await SeedAsync(db, "worker-recent-pod", seen: $"{now - 30}", hashes: 40, runs: ["worker-recent-pod/cccc"]);
        // Garbage and absurd times, and an instance without any: unknown, kept on the first passes.
        await SeedAsync(db, "garbage-abc", seen: "abc", hashes: 1, runs: []);
        await SeedAsync(db, "garbage-far-future", seen: "9000000000000000000", hashes: 2, runs: []);
        await SeedAsync(db, "garbage-negative", seen: "-5", hashes: 3, runs: []);
        await SeedAsync(db, "no-seen", seen: null, hashes: 1, runs: ["no-seen/dddd"]);

        await using var first = await StartWorkerAsync(rig, "live-worker-1");
        await using var second = await StartWorkerAsync(rig, "live-worker-2");
        var pruners = new[] { first.Get<DepartedWorkerPruner>(), second.Get<DepartedWorkerPruner>() };
        await Eventually.TrueAsync(() => pruners.All(p => p.Passes >= 1), "both workers pruned once");
        await Eventually.TrueAsync(() => first.Get<MiningStats>().Written > 200 && second.Get<MiningStats>().Written > 200, "both mine on");

        Assert.Equal(1, pruners.Sum(p => p.Pruned));
        foreach (var key in new[] { StoreKeys.WorkerSeen, StoreKeys.WorkerHashes, StoreKeys.WorkerTelemetry })
        {
            var fields = (await db.HashKeysAsync(key)).Select(f => f.ToString()).ToList();
            Assert.DoesNotContain("worker-old-pod", fields);
            Assert.Contains("worker-recent-pod", fields);
            Assert.Contains("live-worker-1", fields);
            Assert.Contains("live-worker-2", fields);
        }

        var seenFields = (await db.HashKeysAsync(StoreKeys.WorkerSeen)).Select(f => f.ToString()).ToList();
        Assert.Contains("garbage-abc", seenFields);
        Assert.Contains("garbage-far-future", seenFields);
        Assert.Contains("garbage-negative", seenFields);
        var runs = (await db.HashKeysAsync(StoreKeys.WorkerFlushes)).Select(f => f.ToString()).ToList();
        Assert.DoesNotContain(runs, r => r.StartsWith("worker-old-pod/", StringComparison.Ordinal));
        Assert.Contains("worker-recent-pod/cccc", runs);
        Assert.Contains("no-seen/dddd", runs);
        Assert.Contains(first.Get<HashCounterFlusher>().RunKey, runs);
        Assert.Contains(second.Get<HashCounterFlusher>().RunKey, runs);

        var (firstStats, secondStats) = (first.Get<MiningStats>(), second.Get<MiningStats>());
        await first.DisposeAsync();
        await second.DisposeAsync();
        Assert.Equal(Earlier + firstStats.Computed + secondStats.Computed, (long)await db.StringGetAsync(StoreKeys.Hashes));
        Assert.Equal(firstStats.Computed, (long)await db.HashGetAsync(StoreKeys.WorkerHashes, "live-worker-1"));
        Assert.Equal(secondStats.Computed, (long)await db.HashGetAsync(StoreKeys.WorkerHashes, "live-worker-2"));
    }

    [Fact]
    public async Task ADepartedWorkersNameIsLoggedWithItsControlCharactersEscaped()
    {
        await using var rig = await MiningRig.StartAsync("garnet");
        var db = await rig.DatabaseAsync();
        await using var worker = await StartWorkerAsync(rig);
        using var log = new LogLines();
        worker.Get<ILoggerFactory>().AddProvider(log);

        // A name that would end the log line, forge another and colour the terminal; gone two hours ago.
        const string Evil = "evil\n12:00:00 info: forged\u001b[31m";
        await SeedAsync(db, Evil, seen: $"{DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 7200}", hashes: 1, runs: [$"{Evil}/aaaa"]);
        await worker.Get<DepartedWorkerPruner>().PruneOnceAsync();

        Assert.False(await db.HashExistsAsync(StoreKeys.WorkerSeen, Evil), "the departed worker was pruned");
        var line = Assert.Single(log.Lines, l => l.Contains("Removed departed worker", StringComparison.Ordinal));
        Assert.DoesNotContain(line, char.IsControl);
        Assert.Contains("evil\\n12:00:00 info: forged\\u001b[31m", line, StringComparison.Ordinal);
    }

    /// <summary>Every message a service logs from now on, as its console would show it (without the prefix).</summary>
    private sealed class LogLines : ILoggerProvider, ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

        public IEnumerable<string> Lines => _lines;

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue(formatter(state, exception));

        public void Dispose()
        {
        }
    }

    [Fact]
    public void GarbageSeenTimesArePrunedOnlyAfterStayingTheSameGarbageForTheWholeLimit()
    {
        var decider = new PruneDecider(3600);
        const long Now = 1_800_000_000;
        var seen = new Dictionary<string, string>
        {
            ["gone"] = $"{Now - 3601}",
            ["alive"] = $"{Now - 3599}",
            ["me"] = $"{Now - 99_999}",
            ["abc"] = "abc",
            ["future"] = "9000000000000000000",
            ["negative"] = "-5",
            ["changes"] = "x1",
        };

        Assert.Equal([("gone", $"{Now - 3601}")], decider.Decide(seen, ["orphan"], "me", Now));
        seen["changes"] = "x2";
        Assert.Equal([("gone", $"{Now - 3601}"), ("alive", $"{Now - 3599}")], decider.Decide(seen, ["orphan"], "me", Now + 3600));
        var later = decider.Decide(seen, ["orphan"], "me", Now + 3601).Select(d => d.Instance).Order().ToList();
        // Still the same garbage (or still missing) after the whole limit: garbage, removed; "changes" was rewritten.
        Assert.Equal(["abc", "alive", "future", "gone", "negative", "orphan"], later);
        Assert.DoesNotContain("me", later);
        Assert.Equal("worker/with/slash", PruneDecider.InstanceOfRun("worker/with/slash/0123abcd"));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("xyz")]
    [InlineData("0 ")]
    [InlineData("00000000000000000")]
    public async Task ADifficultyWithoutHexDigitsStopsTheWorkerWithItsName(string value)
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            RunningService.StartAsync(ServiceNames.Worker, new() { ["DIFFICULTY"] = value }, Profile.Fast));

        Assert.Equal($"DIFFICULTY must be a hex prefix of 1 to 16 characters, such as 0 or 00 (it is '{value}').", Assert.Single(failure.Failures));
    }

    [Fact]
    public async Task TheWorkerProgramExitsWithCode2ForAnEmptyDifficulty()
    {
        await using var run = LauncherProcess.StartProgram(
            Path.Combine(AppContext.BaseDirectory, "RamCoin.Worker"),
            [],
            new Dictionary<string, string> { ["DIFFICULTY"] = "", ["ASPNETCORE_HTTP_PORTS"] = $"{FreePort.Next()}" },
            "worker");

        Assert.True(await run.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("DIFFICULTY must be a hex prefix of 1 to 16 characters", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("59")]
    public async Task APruneLimitUnderAMinuteStopsTheWorkerWithItsName(string value)
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            RunningService.StartAsync(ServiceNames.Worker, new() { ["WORKER_PRUNE_AFTER_SECONDS"] = value }));

        Assert.Equal($"WORKER_PRUNE_AFTER_SECONDS must be from 60 to 31622400 (it is {value}).", Assert.Single(failure.Failures));
    }

    [Theory]
    [InlineData(Profile.Classic, null, "0")]
    [InlineData(Profile.Fast, null, WorkerOptions.FastDifficulty)]
    [InlineData(Profile.Fast, "0", "0")]
    [InlineData(Profile.Classic, "00", "00")]
    public async Task TheFastProfileMinesAtAHarderDifficultyUnlessOneIsSet(Profile profile, string? set, string expected)
    {
        var settings = set is null ? new Dictionary<string, string?>() : new() { ["DIFFICULTY"] = set };
        await using var worker = await RunningService.StartAsync(ServiceNames.Worker, settings, profile);

        Assert.Equal(expected, worker.Get<IOptions<WorkerOptions>>().Value.Difficulty);
    }

    private static Task<RunningService> StartWorkerAsync(MiningRig rig, string id = Me) =>
        rig.StartWorkerAsync(new() { ["WORKER_ID"] = id, ["WORKER_CONCURRENCY"] = "2" });

    /// <summary>
    /// A worker on the rig once it has written: the flush ledger tests overwrite its run's entry
    /// (<see cref="StoreKeys.WorkerFlushes"/>) and check that its counts still land exactly once.
    /// </summary>
    private sealed record WritingWorker(RunningService Service, IDatabase Db) : IAsyncDisposable
    {
        // Read at start: they are still read after the worker stopped.
        public MiningStats Stats { get; } = Service.Get<MiningStats>();

        public string RunKey { get; } = Service.Get<HashCounterFlusher>().RunKey;

        public static async Task<WritingWorker> StartAsync(MiningRig rig)
        {
            var worker = new WritingWorker(await StartWorkerAsync(rig), await rig.DatabaseAsync());
            try
            {
                await Eventually.TrueAsync(() => worker.Stats.Written >= 100, "the worker writes");
                return worker;
            }
            catch
            {
                await worker.DisposeAsync();
                throw;
            }
        }

        public ValueTask DisposeAsync() => Service.DisposeAsync();
    }

    private static async Task SeedAsync(IDatabase db, string instance, string? seen, long hashes, string[] runs)
    {
        if (seen is not null)
        {
            await db.HashSetAsync(StoreKeys.WorkerSeen, instance, seen);
        }

        await db.HashSetAsync(StoreKeys.WorkerHashes, instance, hashes);
        await db.HashSetAsync(StoreKeys.WorkerTelemetry, instance, "{}");
        foreach (var run in runs)
        {
            await db.HashSetAsync(StoreKeys.WorkerFlushes, run, 7.ToString(CultureInfo.InvariantCulture));
        }
    }
}
