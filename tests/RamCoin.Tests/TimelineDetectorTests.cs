using RamCoin.WebUI;
using static RamCoin.Tests.Infrastructure.MadeUpTicks;

namespace RamCoin.Tests;

/// <summary>
/// The timeline's detection without a store or a clock: instances, versions, knobs, store outages and rate drops,
/// each confirmed over a few ticks so that noise makes no events; and the recorder's caps and CSV. Milliseconds each.
/// </summary>
public sealed class TimelineDetectorTests
{
    private static TimelineObservation Tick(
        double t, double rate = 10, bool stale = false, Dictionary<string, string>? workers = null, Dictionary<string, string>? rng = null,
        string? delay = null) =>
        new(T0 + t, stale, rate, WebUIInstance,
            new Dictionary<string, IReadOnlyDictionary<string, string>>
            {
                ["worker"] = workers ?? new() { ["w1"] = "1.0" },
                ["rng"] = rng ?? new() { ["rng-a"] = "1.0" },
                ["hasher"] = new Dictionary<string, string> { ["hasher-a"] = "1.0" },
            },
            delay is null ? [] : new Dictionary<(string, string), string> { [("worker", "WORKER_DELAY_MS")] = delay });

    /// <summary>Feeds ticks from <paramref name="from"/> to <paramref name="to"/> seconds and collects every event.</summary>
    private static List<TimelineEvent> Run(TimelineDetector detector, int from, int to, Func<int, TimelineObservation> tick, List<KnobChange>? knobsAt = null, int knobTick = -1)
    {
        var events = new List<TimelineEvent>();
        for (var t = from; t <= to; t++)
        {
            events.AddRange(detector.Observe(tick(t), t == knobTick ? knobsAt! : []));
        }

        return events;
    }

    [Fact]
    public void TheFirstTickIsTheBaselineAndOnlyTheWebUIsStartIsAnEvent()
    {
        var detector = new TimelineDetector();

        var events = Run(detector, 0, 20, t => Tick(t, delay: "100"));

        var start = Assert.Single(events);
        Assert.Equal(TimelineKind.Start, start.Kind);
        Assert.Equal(T0, start.At);
        Assert.Contains("web UI 1.0 on webui-1", start.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void AnInstanceThatStaysIsOneEventDatedFromItsFirstTickAndOneThatFlickersIsNone()
    {
        // w2 shows for one tick (a report that raced a flush), then w3 comes and stays.
        var events = AfterBaseline(15, t => Tick(t, workers: t switch
        {
            6 => new() { ["w1"] = "1.0", ["w2"] = "1.0" },
            >= 10 => new() { ["w1"] = "1.0", ["w3"] = "1.0" },
            _ => new() { ["w1"] = "1.0" },
        }));

        var appeared = Assert.Single(events);
        Assert.Equal((TimelineKind.Appeared, "worker", "w3", T0 + 10), (appeared.Kind, appeared.Service, appeared.Instance, appeared.At));
        Assert.Equal("worker w3 appeared", appeared.Text);
    }

    [Fact]
    public void AnRngInstanceThatStopsAnsweringAndComesBackIsAGoneAndAnAppearedEvent()
    {
        var detector = new TimelineDetector();
        Run(detector, 0, 5, t => Tick(t, rng: new() { ["rng-a"] = "1.0", ["rng-b"] = "1.0" }));

        var events = Run(detector, 6, 20, t => Tick(t, rng: t is >= 8 and < 14 ? new() { ["rng-a"] = "1.0" } : new() { ["rng-a"] = "1.0", ["rng-b"] = "1.0" }));

        Assert.Collection(
            events,
            gone => Assert.Equal((TimelineKind.Gone, "rng", "rng-b", T0 + 8, "rng rng-b no longer answers any worker"), (gone.Kind, gone.Service, gone.Instance, gone.At, gone.Text)),
            back => Assert.Equal((TimelineKind.Appeared, "rng", "rng-b", T0 + 14, "rng rng-b answers the workers"), (back.Kind, back.Service, back.Instance, back.At, back.Text)));
    }

    [Fact]
    public void ScalingToManyWorkersAtOnceIsOneEvent()
    {
        var many = Enumerable.Range(1, 50).ToDictionary(i => $"w{i}", _ => "1.0");

        var events = AfterBaseline(10, t => Tick(t, workers: many));

        var scaled = Assert.Single(events);
        Assert.Equal(TimelineKind.Appeared, scaled.Kind);
        Assert.Null(scaled.Instance);
        Assert.StartsWith("49 worker instances appeared: w10, w11, w12, w13, w14, …", scaled.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void ARollingUpdateIsAVersionEventWhenTheNewVersionComesAndOneWhenTheOldIsGone()
    {
        var events = AfterBaseline(30, t => Tick(t, workers: t switch
        {
            < 10 => new() { ["w1"] = "1.0" },
            < 20 => new() { ["w1"] = "1.0", ["w2"] = "2.0" },
            // A worker whose report is not read yet has no version ("?"): not a third version.
            _ => new() { ["w2"] = "2.0", ["w3"] = "?" },
        })).Where(e => e.Kind == TimelineKind.Version).ToList();

        Assert.Collection(
            events,
            first => Assert.Equal(("worker", T0 + 10, "worker version 1.0 → 1.0, 2.0"), (first.Service, first.At, first.Text)),
            done => Assert.Equal(("worker", T0 + 20, "worker version 1.0, 2.0 → 2.0"), (done.Service, done.At, done.Text)));
    }

    [Fact]
    public void NoInstancesMeansUnknownVersionsNotAChange()
    {
        var events = AfterBaseline(20, t => Tick(t, workers: t < 12 ? [] : new() { ["w1"] = "1.0" }));

        Assert.DoesNotContain(events, e => e.Kind == TimelineKind.Version);
        Assert.Equal([TimelineKind.Gone, TimelineKind.Appeared], events.Select(e => e.Kind));
    }

    [Fact]
    public void AStoreOutageIsDatedFromItsFirstStaleTickAndOneSlowReadIsNoOutage()
    {
        // One stale tick (a read past its budget) at 7; the store is down from 10 to 14.
        var events = AfterBaseline(25, t => Tick(t, stale: t is 7 or (>= 10 and < 15), workers: t is >= 10 and < 15 ? [] : null));

        Assert.Equal(
            [
                (TimelineKind.StoreDown, "store", T0 + 10, "the store does not answer: the figures stand still"),
                (TimelineKind.StoreBack, "store", T0 + 15, "the store answers again, after 5 s"),
            ],
            events.Select(e => (e.Kind, e.Service, e.At, e.Text)));
    }

    [Fact]
    public void ANoisyRateMakesNoEventsButAFallBelowHalfAndItsRecoveryDo()
    {
        var detector = new TimelineDetector();
        // ±30 % around 10 hashes/s, and two ticks under half: noise.
        Run(detector, 0, 5, t => Tick(t, rate: 10));
        var noise = Run(detector, 6, 60, t => Tick(t, rate: t is 30 or 31 ? 4 : 10 + (3 * Math.Sin(t))));
        Assert.Empty(noise);

        var events = Run(detector, 61, 100, t => Tick(t, rate: t is >= 70 and < 85 ? 2 : 10));

        Assert.Collection(
            events,
            drop =>
            {
                Assert.Equal((TimelineKind.RateDrop, T0 + 70), (drop.Kind, drop.At));
                Assert.Matches(@"^rate fell to 2\.0 hashes/s, from about 1\d\.\d$", drop.Text);
            },
            recovered =>
            {
                Assert.Equal((TimelineKind.RateRecovered, T0 + 85), (recovered.Kind, recovered.At));
                Assert.Equal("rate back to 10.0 hashes/s, 15 s after it fell", recovered.Text);
            });
    }

    [Fact]
    public void ADropThatLastsAMinuteIsTheNewUsualRateAndAFurtherDropFromItCounts()
    {
        var detector = new TimelineDetector();
        Run(detector, 0, 40, t => Tick(t, rate: 30));

        // Scaled from ten workers to three: 30 → 9, and it stays; later one worker is left: 9 → 3.
        var events = Run(detector, 41, 200, t => Tick(t, rate: t < 150 ? 9 : 3));

        Assert.Equal([TimelineKind.RateDrop, TimelineKind.RateDrop], events.Select(e => e.Kind));
        Assert.Equal(T0 + 150, events[1].At);
    }

    [Fact]
    public void NothingMinedYetIsNoDrop()
    {
        var detector = new TimelineDetector();

        var events = Run(detector, 0, 60, t => Tick(t, rate: t % 7 == 0 ? 0.3 : 0));

        Assert.Single(events);
    }

    [Fact]
    public void AKnobChangedThroughTheControlsIsOneEventAndTheWorkersReportOfItIsNoSecond()
    {
        var detector = new TimelineDetector();
        Run(detector, 0, 5, t => Tick(t, delay: "100"));

        var events = Run(
            detector, 6, 20, t => Tick(t, delay: t < 8 ? "100" : "0"),
            [new KnobChange("worker", "WORKER_DELAY_MS", "100", "0"), new KnobChange("rng", "RNG_DELAY_MS", null, "250")], knobTick: 6);

        Assert.Collection(
            events,
            worker => Assert.Equal((TimelineKind.Knob, "worker", T0 + 6, "worker WORKER_DELAY_MS: 100 → 0 (knob controls)"), (worker.Kind, worker.Service, worker.At, worker.Text)),
            rng => Assert.Equal("rng RNG_DELAY_MS: default → 250 (knob controls)", rng.Text));
    }

    [Fact]
    public void AKnobChangedElsewhereIsSeenInTheWorkersReports()
    {
        var detector = new TimelineDetector();
        Run(detector, 0, 5, t => Tick(t, delay: "100"));

        // Half the workers first (a kubectl set env rolls them), then all.
        var events = Run(detector, 6, 20, t => Tick(t, delay: t switch { < 10 => "100", < 15 => "0, 100", _ => "0" }));

        Assert.Equal(
            ["worker WORKER_DELAY_MS: 100 → 0, 100 (as the workers report it)", "worker WORKER_DELAY_MS: 0, 100 → 0 (as the workers report it)"],
            events.Select(e => e.Text));
    }

    [Fact]
    public void TheExpectedCeilingMovingByMoreThanATenthIsAnEventAndItsWobbleIsNone()
    {
        var detector = new TimelineDetector();
        Run(detector, 0, 5, t => Tick(t) with { Ceiling = 10, LimitedBy = "rng" });

        // 10 ± 5 %, unknown for a while (no reports), one tick at 15; then a second rng: 20.
        var events = Run(detector, 6, 30, t => Tick(t) with
        {
            Ceiling = t switch { < 10 => 10 + (t % 2 == 0 ? 0.5 : -0.5), < 12 => null, 12 => 15, < 20 => 10, _ => 20 },
            LimitedBy = t < 20 ? "rng" : "workers",
        });

        var moved = Assert.Single(events);
        Assert.Equal((TimelineKind.Ceiling, T0 + 20, "expected ceiling 10.0 → 20.0 hashes/s, set by workers"), (moved.Kind, moved.At, moved.Text));
    }

    [Fact]
    public void TheRecorderCapsItsEventsAndSeriesAndTheDashboardCarriesTheLastMinutesOnly()
    {
        var recorder = new TimelineRecorder();
        var workers = new List<WorkerView>();
        for (var t = 0; t < TimelineRecorder.SeriesPoints + 100; t++)
        {
            // A store that makes up a new worker name every tick (and drops the last): two events a tick.
            workers = t % 3 == 0 ? [new WorkerView($"made-up-{t}", 1, 1, 0, "1.0")] : workers;
            var events = recorder.Record(Dashboard(t, workers), []);
            Assert.True(events.Count <= TimelineRecorder.RecentEvents);
            Assert.All(events, e => Assert.InRange(e.At, T0 + t - 60, T0 + t));
        }

        var timeline = recorder.Snapshot();
        Assert.Equal(TimelineRecorder.MaxEvents, timeline.Events.Count);
        Assert.Equal(TimelineRecorder.SeriesPoints, timeline.T.Count);
        Assert.Equal(T0 + 100, timeline.T[0]);
        Assert.True(timeline.Events.Zip(timeline.Events.Skip(1)).All(p => p.First.At <= p.Second.At), "events in time order");
    }

    [Fact]
    public void TheCsvHasOneRowASecondWithThatSecondsEventsQuoted()
    {
        var timeline = new Timeline(
            [
                new TimelineEvent(1, T0, TimelineKind.Start, "webui", "w", "web UI 1.0 started"),
                new TimelineEvent(2, T0 + 1, TimelineKind.Appeared, "worker", "w,\"x\"", "worker w,\"x\" appeared"),
                new TimelineEvent(3, T0 + 1, TimelineKind.StoreDown, "store", null, "the store does not answer"),
            ],
            [T0, T0 + 1, T0 + 2], [10, null, 30], [1.5, null, 2.25], [null, null, 10]);

        var csv = TimelineRecorder.Csv(timeline).Split('\n');

        Assert.Equal("unix_time,utc,hashes,hashes_per_second,expected_ceiling,events", csv[0]);
        Assert.Equal("1800000000.000,2027-01-15T08:00:00.000Z,10,1.50,,\"start: web UI 1.0 started\"", csv[1]);
        Assert.Equal("1800000001.000,2027-01-15T08:00:01.000Z,,,,\"appeared: worker w,\"\"x\"\" appeared | store-down: the store does not answer\"", csv[2]);
        Assert.Equal("1800000002.000,2027-01-15T08:00:02.000Z,30,2.25,10.00,", csv[3]);
        Assert.Equal("", csv[4]);
    }

    [Fact]
    public void EveryKindKeepsItsWireName()
    {
        string[] wire = ["start", "appeared", "gone", "version", "knob", "store-down", "store-back", "rate-drop", "rate-recovered", "ceiling"];

        Assert.Equal(wire, Enum.GetValues<TimelineKind>().Select(k => JsonSerializer.Deserialize<string>(JsonSerializer.Serialize(k))));
        Assert.Equal(wire, Enum.GetValues<TimelineKind>().Select(TimelineKindConverter.Name));
    }

    /// <summary>The events of ticks 6 to <paramref name="to"/>, after a baseline of usual ticks from 0 to 5.</summary>
    private static List<TimelineEvent> AfterBaseline(int to, Func<int, TimelineObservation> tick)
    {
        var detector = new TimelineDetector();
        Run(detector, 0, 5, t => Tick(t));
        return Run(detector, 6, to, tick);
    }

    private static Dashboard Dashboard(double t, List<WorkerView> workers) => new(
        T0 + t, false, null, t, (long)t, 0, 1, 0, WebUIInstance, workers, new PeerView(0, 0, 0, []), new PeerView(0, 0, 0, []), null, []);
}
