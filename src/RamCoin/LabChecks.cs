namespace RamCoin;

/// <summary>One expectation of a lesson: met or not, what was measured, and what to do when it is not met.</summary>
public sealed record LabCheck(bool Passed, string Expectation, string Measured, string? Hint);

/// <summary>
/// The lessons' expectations, judged on what the web UI reports (<see cref="LabEvidence"/>), without I/O: each lesson
/// gives its checks, each with the numbers it saw.
/// </summary>
public static class LabChecks
{
    public static readonly IReadOnlyList<string> Lessons = ["rollout", "healthchecks", "scaling", "daemonset"];

    /// <summary>The rollout lesson's limit: the counter never stands still for longer.</summary>
    public const double StallLimitSeconds = 2;

    /// <summary>The web UI samples once a second: a pause is measured to the second, give or take its timer.</summary>
    private const double SamplingSlack = 0.5;

    /// <summary>The scaling lesson: the measured rate within this share of the expected ceiling.</summary>
    public const double CeilingTolerance = 0.10;

    /// <summary>The rate is measured over the last seconds, as the dashboard's own rate.</summary>
    public const double MeasureSeconds = 10;

    /// <summary>The daemonset lesson: the ceiling must rise by more than this share.</summary>
    private const double CeilingRise = 0.10;

    public static IReadOnlyList<LabCheck> Run(string lesson, LabEvidence evidence, double windowSeconds) => lesson switch
    {
        "rollout" => Rollout(evidence, windowSeconds),
        "healthchecks" => Healthchecks(evidence, windowSeconds),
        "scaling" => Scaling(evidence),
        "daemonset" => DaemonSet(evidence, windowSeconds),
        _ => throw new ArgumentOutOfRangeException(nameof(lesson), lesson, "not a lesson"),
    };

    private static List<LabCheck> Rollout(LabEvidence e, double window)
    {
        var since = e.Now - window;
        var version = e.Events.LastOrDefault(v => v.Kind == "version" && v.At >= since);
        var checks = new List<LabCheck>
        {
            version is not null
                ? Pass("a version change happened in the window", $"{version.Text}, {Ago(e, version.At)}")
                : Fail("a version change happened in the window", $"no version change in the last {window:F0} s",
                    "Roll a new version out (kubectl -n ramcoin set image deployment/worker worker=REGISTRY/worker:v0.2, or a new RAMCOIN_VERSION), then check again within --window."),
        };

        const string stall = "the hash count never stalled for more than 2 s";
        if (LongestStall(e, since) is not { } longest)
        {
            checks.Add(Fail(stall, $"the hash count did not rise at all in the last {window:F0} s", "Nothing mined: are the workers running, and does the store answer?"));
        }
        else if (longest.Seconds <= StallLimitSeconds + SamplingSlack)
        {
            checks.Add(Pass(stall, $"its longest pause: {longest.Seconds:F0} s (the web UI samples once a second)"));
        }
        else
        {
            checks.Add(Fail(stall, $"it stood still for {longest.Seconds:F0} s, from {Ago(e, longest.From)}",
                "The old workers stopped before new ones mined: keep maxUnavailable at 0 (and maxSurge at 1 or more), so that an old pod goes only once a new one runs."));
        }

        return checks;
    }

    /// <summary>
    /// The longest time the counter was seen standing still after a rise, from its first rise in the window: the time
    /// from the rise to the last sample that still showed no new one. Measured on the samples themselves, so a late
    /// sample after a rise is no pause; samples of a store outage are skipped (the workers keep counting meanwhile).
    /// </summary>
    public static (double Seconds, double From)? LongestStall(LabEvidence e, double since)
    {
        long? previous = null;
        double? lastRise = null;
        (double Seconds, double From)? longest = null;
        for (var i = 0; i < e.T.Count; i++)
        {
            if (e.T[i] < since || e.Hashes[i] is not { } hashes)
            {
                continue;
            }

            if (previous is { } p && hashes > p)
            {
                lastRise = e.T[i];
            }
            else if (lastRise is { } rise && (longest is null || e.T[i] - rise > longest.Value.Seconds))
            {
                longest = (e.T[i] - rise, rise);
            }

            previous = hashes;
        }

        return lastRise is null ? null : longest ?? (0, lastRise.Value);
    }

    private static List<LabCheck> Healthchecks(LabEvidence e, double window)
    {
        var since = e.Now - window;
        var gone = e.Events.Where(g => g.Kind == "gone" && g.At >= since).ToList();
        const string unready = "an instance went unready (the workers stopped reaching it)";
        const string back = "and it came back";
        const string how = "Make one pod unready: RAMCOIN_FORCE_UNREADY=true on it (kubectl -n ramcoin port-forward pod/<rng pod> 8001:80, then PUT /admin/knobs; or break its readiness probe). Kubernetes takes it out of the Service; the timeline says so within about 10 s.";
        if (gone.Count == 0)
        {
            return
            [
                Fail(unready, $"no instance went away in the last {window:F0} s", how),
                Fail(back, "nothing went away, so nothing came back", how),
            ];
        }

        var checks = new List<LabCheck> { Pass(unready, $"{gone[^1].Text}, {Ago(e, gone[^1].At)}") };
        foreach (var g in Enumerable.Reverse(gone))
        {
            if (e.Events.FirstOrDefault(a => a.Kind == "appeared" && a.At > g.At && a.Service == g.Service && a.Instance == g.Instance) is { } returned)
            {
                checks.Add(Pass(back, $"{returned.Text}, {returned.At - g.At:F0} s after it went"));
                return checks;
            }
        }

        checks.Add(Fail(back, $"{gone[^1].Text} {Ago(e, gone[^1].At)} and has not come back",
            "Make it ready again (RAMCOIN_FORCE_UNREADY=false, or mend the probe): a failing readiness probe takes a pod out of the Service without a restart, so it comes back by itself."));
        return checks;
    }

    private static List<LabCheck> Scaling(LabEvidence e)
    {
        var checks = new List<LabCheck>();
        const string known = "the deployment has an expected ceiling";
        if (e.Ceiling is not { HashesPerSecond: > 0 } ceiling)
        {
            checks.Add(Fail(known, "the web UI reports no ceiling",
                "The ceiling comes from what the workers, rng and hasher report: wait until they have mined a few seconds (a web UI or services older than the ceiling report none)."));
        }
        else
        {
            checks.Add(Pass(known, $"{ceiling.HashesPerSecond:F1} hashes/s"));
        }

        const string measured = "the rate was measured for 10 s without a store outage";
        var span = e.T.Select((t, i) => (T: t, Hashes: e.Hashes[i])).Where(p => p.T >= e.Now - MeasureSeconds - SamplingSlack).ToList();
        var outage = span.Count(p => p.Hashes is null);
        double? rate = null;
        if (e.T.Count == 0 || e.T[0] > e.Now - MeasureSeconds + SamplingSlack)
        {
            checks.Add(Fail(measured, $"only {(e.T.Count == 0 ? 0 : e.Now - e.T[0]):F0} s of samples: the web UI started just now",
                "Let it mine for at least 10 s after starting or scaling, then check again."));
        }
        else if (span.Count < 2)
        {
            // The web UI stopped sampling (or its clock jumped): no rate to measure.
            checks.Add(Fail(measured, $"{span.Count} samples in the last {MeasureSeconds:F0} s: the web UI has not sampled the store lately",
                "Is the web UI's sampler running? Check its log, then check again in 10 s."));
        }
        else if (outage > 0)
        {
            checks.Add(Fail(measured, $"the store did not answer in {outage} of the last {span.Count} samples",
                "A store outage stops the counter: wait until the store has answered for 10 s, then check again."));
        }
        else
        {
            rate = (span[^1].Hashes!.Value - (double)span[0].Hashes!.Value) / (span[^1].T - span[0].T);
            checks.Add(Pass(measured, $"{rate:F1} hashes/s over {span[^1].T - span[0].T:F0} s"));
        }

        const string within = "the measured rate is within 10 % of the expected ceiling";
        if (rate is not { } r || e.Ceiling is not { HashesPerSecond: > 0 } c)
        {
            checks.Add(Fail(within, "not compared: the rate or the ceiling is missing (above)", null));
        }
        else
        {
            var off = (r - c.HashesPerSecond) / c.HashesPerSecond;
            var numbers = $"measured {r:F1}, expected {c.HashesPerSecond:F1} hashes/s ({Percent(off)})";
            checks.Add(Math.Abs(off) <= CeilingTolerance
                ? Pass(within, numbers)
                : Fail(within, numbers, off < 0
                    ? "Under the ceiling: something the model does not count holds the loops back (errors and retries, a busy CPU, a slow store), or a change is under 10 s old."
                    : "Over the ceiling: the model misses capacity, such as rng instances or workers that report nothing (older versions)."));
        }

        const string bottleneck = "the bottleneck is named";
        checks.Add(e.Ceiling is { LimitedBy: "workers" or "rng" or "hasher" } limit
            ? Pass(bottleneck, $"{limit.LimitedBy}: {limit.Explanation}")
            : Fail(bottleneck, "the ceiling names no part", "The dashboard names the smallest term of its ceiling: wait for the services' reports."));
        return checks;
    }

    private static List<LabCheck> DaemonSet(LabEvidence e, double window)
    {
        var since = e.Now - window;
        var count = e.RngInstances.Count;
        var names = string.Join(", ", e.RngInstances.Take(5)) + (count > 5 ? ", …" : "");
        var checks = new List<LabCheck>
        {
            count > 1
                ? Pass("more than one rng instance answers", $"{count} answer: {names}")
                : Fail("more than one rng instance answers", count == 0 ? "no rng instance answers" : $"1 answers: {names}",
                    "Run rng on every node: add components/rng-daemonset, kubectl apply -k …, kubectl -n ramcoin delete deployment rng; the workers reach every instance through the Service."),
        };

        const string rose = "the expected ceiling rose with them";
        var first = e.T.Select((t, i) => (T: t, Ceiling: e.Ceilings[i])).FirstOrDefault(p => p.T >= since && p.Ceiling is not null).Ceiling;
        var appeared = e.Events.Count(a => a.Kind == "appeared" && a.Service == "rng" && a.At >= since);
        if (first is not { } before || e.Ceiling is not { } now)
        {
            checks.Add(Fail(rose, "the web UI reports no ceiling to compare", "Wait until the workers have reported (a few seconds), then check again."));
        }
        else if (now.HashesPerSecond <= before * (1 + CeilingRise))
        {
            checks.Add(Fail(rose, $"it stayed at about {now.HashesPerSecond:F1} hashes/s in the last {window:F0} s ({now.LimitedBy}: {now.Explanation})",
                now.LimitedBy == "rng"
                    ? "Add rng instances within --window of the check (or lengthen it)."
                    : $"{now.LimitedBy} set the ceiling, not rng: more rng instances cannot lift it; add workers (kubectl -n ramcoin scale deployment worker --replicas=10)."));
        }
        else if (appeared == 0)
        {
            checks.Add(Fail(rose, $"it rose from {before:F1} to {now.HashesPerSecond:F1} hashes/s, but no rng instance appeared in the last {window:F0} s",
                "That was another change (RNG_CONCURRENCY, a delay): add rng instances within --window of the check."));
        }
        else
        {
            checks.Add(Pass(rose, $"{before:F1} → {now.HashesPerSecond:F1} hashes/s as {appeared} rng instance{(appeared == 1 ? "" : "s")} appeared ({now.LimitedBy}: {now.Explanation})"));
        }

        return checks;
    }

    private static LabCheck Pass(string expectation, string measured) => new(true, expectation, measured, null);

    private static LabCheck Fail(string expectation, string measured, string? hint) => new(false, expectation, measured, hint);

    private static string Ago(LabEvidence e, double at) => $"{Math.Max(0, e.Now - at):F0} s ago";

    private static string Percent(double share) =>
        (share >= 0 ? "+" : "−") + Math.Abs(share * 100).ToString("F0", CultureInfo.InvariantCulture) + " %";
}
