namespace RamCoin.WebUI;

/// <summary>
/// The rate the deployment can reach now and what sets it, from what rng and hasher say of themselves (the workers
/// record it per instance): the workers' loops ÷ their loop time, and for rng and hasher the sum over instances of
/// concurrency ÷ service time. The smallest term is the ceiling. A peer without a limit (no concurrency limit, or no
/// delay) has no term. The loop time counts each call as unqueued (service time plus injected latency): queueing is
/// the bottleneck's effect, not a cost of its own. A peer that says nothing (an old DockerCoins rng) or has no delay
/// (the fast profile) counts with the latency the worker measured instead, and the explanation says so.
/// </summary>
public static class ExpectedCeiling
{
    /// <summary>The workers' term; rng's and hasher's carry their service's name.</summary>
    public const string Workers = "workers";

    /// <summary>Past this many different kinds of worker or instance, an explanation sums them up instead of listing them.</summary>
    private const int MaxListed = 3;

    /// <param name="reports">The live workers' reports (already checked by <see cref="DashboardChecks"/>).</param>
    /// <returns>Null while nothing is known: no worker, or no call measured yet.</returns>
    public static Ceiling? Of(IReadOnlyCollection<WorkerReport> reports)
    {
        var ordered = reports.OrderBy(r => r.At).ToList();
        var rng = PeerModel.Of(ServiceNames.Rng, ordered.Select(r => r.Rng));
        var hasher = PeerModel.Of(ServiceNames.Hasher, ordered.Select(r => r.Hasher));
        var terms = new List<CeilingTerm>();
        if (WorkersTerm(ordered, rng, hasher) is { } workers)
        {
            terms.Add(workers);
        }

        foreach (var peer in new[] { rng, hasher })
        {
            if (peer.Term() is { } term)
            {
                terms.Add(term);
            }
        }

        if (terms.Count == 0)
        {
            return null;
        }

        var smallest = terms.MinBy(t => t.HashesPerSecond)!;
        return new Ceiling(smallest.HashesPerSecond, smallest.Part, smallest.Explanation, terms);
    }

    /// <summary>Σ over workers of loops × 1000 ÷ loop ms; a worker whose loop time is unknown (no call measured) is left out.</summary>
    private static CeilingTerm? WorkersTerm(List<WorkerReport> reports, PeerModel rng, PeerModel hasher)
    {
        var loops = new List<(int Loops, Loop Loop)>();
        foreach (var report in reports)
        {
            var loop = new Loop(report.DelayMs, rng.CallOf(report.Rng), hasher.CallOf(report.Hasher));
            if (loop.Ms > 0)
            {
                loops.Add((report.Concurrency, loop));
            }
        }

        if (loops.Count == 0)
        {
            return null;
        }

        var rate = loops.Sum(l => l.Loops * 1000 / l.Loop.Ms);
        var groups = loops.GroupBy(l => (l.Loops, Ms: Math.Round(l.Loop.Ms, 1))).OrderByDescending(g => g.Count()).ToList();
        string explanation;
        if (groups.Count == 1)
        {
            var (count, first) = (loops.Count, loops[0]);
            explanation = $"{Count(count, "worker")} × {Count(first.Loops, "loop")} ÷ {Milliseconds(first.Loop.Ms)} ms";
            if (loops.All(l => l.Loop.Breakdown == first.Loop.Breakdown))
            {
                explanation += $" ({first.Loop.Breakdown})";
            }
        }
        else if (groups.Count <= MaxListed)
        {
            explanation = string.Join(" + ", groups.Select(g => $"{Count(g.Count(), "worker")} × {Count(g.Key.Loops, "loop")} ÷ {Milliseconds(g.Key.Ms)} ms"));
        }
        else
        {
            explanation = $"{Count(loops.Count, "worker")}, {Count(loops.Sum(l => (long)l.Loops), "loop")} in all, loops of {Milliseconds(loops.Min(l => l.Loop.Ms))}–{Milliseconds(loops.Max(l => l.Loop.Ms))} ms";
        }

        foreach (var peer in new[] { rng, hasher }.Where(p => p.Instances.Count > 0 && !p.Reported))
        {
            explanation += $"; {peer.Name} says nothing of its service time (an older {peer.Name} or worker): its measured latency stands in";
        }

        return new CeilingTerm(Workers, Math.Round(rate, 2), explanation);
    }

    /// <summary>One loop: the worker's pause, then one call to each peer, as modeled or as measured.</summary>
    private sealed record Loop(int PauseMs, Call Rng, Call Hasher)
    {
        public double Ms => PauseMs + Rng.Ms + Hasher.Ms;

        public string Breakdown => $"{Milliseconds(PauseMs)} ms pause + rng {Rng} + hasher {Hasher}";
    }

    private sealed record Call(double Ms, bool Measured)
    {
        public override string ToString() => $"{Milliseconds(Ms)} ms{(Measured ? " measured" : "")}";
    }

    /// <summary>One peer's instances, each with the calls all workers made to it and what it said of itself last.</summary>
    private sealed record PeerModel(string Name, List<PeerInstanceReport> Instances)
    {
        /// <summary>Every instance said its service time: the model applies.</summary>
        public bool Reported => Instances.Count > 0 && Instances.All(i => i.ServiceMs is not null);

        public static PeerModel Of(string name, IEnumerable<PeerReport> reports)
        {
            // Oldest report first: the last word on an instance's settings is the newest.
            var instances = new Dictionary<string, PeerInstanceReport>(StringComparer.Ordinal);
            foreach (var (instance, seen) in reports.SelectMany(r => r.Instances))
            {
                var calls = (instances.TryGetValue(instance, out var known) ? known.Calls : 0) + seen.Calls;
                instances[instance] = seen with { Calls = Math.Min(calls, DashboardChecks.MaxCount) };
            }

            return new PeerModel(name, [.. instances.Values]);
        }

        /// <summary>What one call costs a loop: the instances' service time plus injected latency, weighted by calls; else measured.</summary>
        public Call CallOf(PeerReport measured)
        {
            if (Reported)
            {
                var calls = Instances.Sum(i => (double)Math.Max(1, i.Calls));
                var ms = Instances.Sum(i => (i.ServiceMs!.Value + (i.ExtraLatencyMs ?? 0)) * (double)Math.Max(1, i.Calls)) / calls;
                if (ms > 0)
                {
                    return new Call(ms, false);
                }
            }

            return new Call(measured.P50Ms, true);
        }

        /// <summary>Σ concurrency × 1000 ÷ service ms; null when an instance has no limit (no concurrency, or no delay).</summary>
        public CeilingTerm? Term()
        {
            if (!Reported || Instances.Any(i => i.Concurrency is null || i.ServiceMs is not > 0))
            {
                return null;
            }

            var rate = Instances.Sum(i => i.Concurrency!.Value * 1000.0 / i.ServiceMs!.Value);
            var groups = Instances.GroupBy(i => (Concurrency: i.Concurrency!.Value, ServiceMs: i.ServiceMs!.Value)).OrderByDescending(g => g.Count()).ToList();
            var explanation = groups.Count <= MaxListed
                ? string.Join(" + ", groups.Select(g => $"{g.Count()} {Name} × {Count(g.Key.Concurrency, "request")} at a time ÷ {g.Key.ServiceMs} ms"))
                : $"{Instances.Count} {Name}, {Count(Instances.Sum(i => (long)i.Concurrency!.Value), "request")} at a time in all, {Instances.Min(i => i.ServiceMs)}–{Instances.Max(i => i.ServiceMs)} ms each";
            return new CeilingTerm(Name, Math.Round(rate, 2), explanation);
        }
    }

    private static string Count(long n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";

    private static string Milliseconds(double ms) => ms >= 10 ? $"{ms:F0}" : $"{ms:0.#}";
}
