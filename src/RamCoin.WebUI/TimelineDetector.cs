namespace RamCoin.WebUI;

/// <summary>
/// Turns the web UI's ticks into timeline events, without I/O and without a clock. Each change must hold for a few
/// ticks before it counts (<see cref="ConfirmTicks"/>, <see cref="RateDropDetector.RateConfirmTicks"/>), so that a noisy rate or one
/// slow store read does not fill the timeline; an event is dated from the first tick that saw the change. The
/// first tick that reads the store is the baseline: what runs then is not news.
/// </summary>
public sealed class TimelineDetector
{
    /// <summary>Ticks an instance's presence, a version set, a setting or the store's state must hold to count.</summary>
    public const int ConfirmTicks = 2;

    /// <summary>More instances appearing or going in one tick than this make one event (scaling to 50 workers is one change).</summary>
    public const int ListedPerEvent = 5;

    /// <summary>A setting the workers report within this long of the same change through the knob controls is its echo.</summary>
    public const double KnobEchoSeconds = 15;

    /// <summary>The expected ceiling changed when it moved by more than this share (for <see cref="ConfirmTicks"/>).</summary>
    public const double CeilingChange = 0.1;

    /// <summary>Instances followed at most: a store may hold any number of made-up worker names.</summary>
    public const int MaxTracked = 10_000;

    private static readonly string[] Services = [ServiceNames.Worker, ServiceNames.Rng, ServiceNames.Hasher];

    private readonly DebouncedValue<bool> _stale = new(false);
    private readonly Dictionary<(string Service, string Instance), DebouncedValue<bool>> _present = [];
    private readonly Dictionary<string, DebouncedValue<string>> _versions = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Service, string Name), DebouncedValue<string>> _settings = [];
    private readonly Dictionary<(string Service, string Name), double> _knobNotes = [];
    private readonly RateDropDetector _rate = new();
    private double? _ceiling;
    private int _ceilingTicks;
    private double _ceilingSince;
    private long _nextId = 1;
    private bool _started;
    private bool _baselined;

    /// <summary>The events this tick confirms, and those of the knob changes made through the web UI since the last tick.</summary>
    public List<TimelineEvent> Observe(TimelineObservation tick, IReadOnlyList<KnobChange> knobChanges)
    {
        var events = new List<TimelineEvent>();
        void Add(double at, TimelineKind kind, string? service, string? instance, string text) =>
            events.Add(new TimelineEvent(_nextId++, at, kind, service, instance, text));

        if (!_started)
        {
            _started = true;
            Add(tick.Now, TimelineKind.Start, "webui", tick.WebUI.Instance, $"web UI {tick.WebUI.Version} on {tick.WebUI.Instance} started: its timeline begins here");
        }

        foreach (var knob in knobChanges)
        {
            _knobNotes[(knob.Service, knob.Name)] = tick.Now;
            Add(tick.Now, TimelineKind.Knob, knob.Service, null, $"{knob.Service} {knob.Name}: {knob.From ?? "default"} → {knob.To ?? "default"} (knob controls)");
        }

        if (_stale.Update(tick.Stale, tick.Now, ConfirmTicks) is { } store)
        {
            if (tick.Stale)
            {
                Add(store.Since, TimelineKind.StoreDown, "store", null, "the store does not answer: the figures stand still");
            }
            else
            {
                Add(store.Since, TimelineKind.StoreBack, "store", null, $"the store answers again, after {store.Since - store.PreviousSince:F0} s");
            }
        }

        // A stale tick repeats the last dashboard: nothing in it is news.
        if (tick.Stale)
        {
            return events;
        }

        if (!_baselined)
        {
            _baselined = true;
            foreach (var (service, instances) in tick.Instances)
            {
                foreach (var instance in instances.Keys.Take(MaxTracked - _present.Count))
                {
                    _present[(service, instance)] = new DebouncedValue<bool>(true);
                }
            }
        }

        Presence(tick, Add);
        Versions(tick, Add);
        Settings(tick, Add);
        CeilingMoves(tick, Add);
        _rate.Observe(tick.Now, tick.Rate, Add);
        return events;
    }

    private void Presence(TimelineObservation tick, Action<double, TimelineKind, string?, string?, string> add)
    {
        foreach (var service in Services)
        {
            var observed = tick.Instances.GetValueOrDefault(service) ?? new Dictionary<string, string>();
            foreach (var instance in observed.Keys)
            {
                if (!_present.ContainsKey((service, instance)) && _present.Count < MaxTracked)
                {
                    _present[(service, instance)] = new DebouncedValue<bool>(false);
                }
            }

            var appeared = new List<(string Instance, double Since)>();
            var gone = new List<(string Instance, double Since)>();
            foreach (var ((_, instance), presence) in _present.Where(p => p.Key.Service == service).ToList())
            {
                if (presence.Update(observed.ContainsKey(instance), tick.Now, ConfirmTicks) is { } change)
                {
                    (presence.Value ? appeared : gone).Add((instance, change.Since));
                }

                if (!presence.Value && !presence.Pending)
                {
                    _present.Remove((service, instance));
                }
            }

            Report(service, appeared, TimelineKind.Appeared, "appeared", "answers", add);
            Report(service, gone, TimelineKind.Gone, "went away", "no longer answers", add);
        }
    }

    /// <summary>One event an instance, or one for the lot when many changed at once.</summary>
    private static void Report(
        string service, List<(string Instance, double Since)> changed, TimelineKind kind, string workerVerb, string peerVerb,
        Action<double, TimelineKind, string?, string?, string> add)
    {
        // Workers come and go by their own reports; rng and hasher instances by the workers' calls that they answer.
        var verb = service == "worker" ? workerVerb : peerVerb;
        if (changed.Count <= ListedPerEvent)
        {
            foreach (var (instance, since) in changed.OrderBy(c => c.Since).ThenBy(c => c.Instance, StringComparer.Ordinal))
            {
                add(since, kind, service, instance, service == "worker" ? $"worker {instance} {verb}" : $"{service} {instance} {verb}{(kind == TimelineKind.Gone ? " any worker" : " the workers")}");
            }

            return;
        }

        var names = changed.Select(c => c.Instance).Order(StringComparer.Ordinal).ToList();
        add(changed.Min(c => c.Since), kind, service, null,
            $"{changed.Count} {service} instances {(kind == TimelineKind.Gone ? "went away" : "appeared")}: {string.Join(", ", names.Take(ListedPerEvent))}, …");
    }

    private void Versions(TimelineObservation tick, Action<double, TimelineKind, string?, string?, string> add)
    {
        foreach (var service in Services)
        {
            var versions = (tick.Instances.GetValueOrDefault(service)?.Values ?? []).Where(v => v != "?").Distinct().Order(StringComparer.Ordinal).ToList();
            if (versions.Count == 0)
            {
                // No instance to ask: the versions are unknown, not changed.
                continue;
            }

            var set = string.Join(", ", versions);
            if (!_versions.TryGetValue(service, out var known))
            {
                _versions[service] = new DebouncedValue<string>(set);
            }
            else if (known.Update(set, tick.Now, ConfirmTicks) is { } change)
            {
                add(change.Since, TimelineKind.Version, service, null, $"{service} version {change.From} → {set}");
            }
        }
    }

    private void Settings(TimelineObservation tick, Action<double, TimelineKind, string?, string?, string> add)
    {
        foreach (var (key, value) in tick.Settings)
        {
            if (!_settings.TryGetValue(key, out var known))
            {
                _settings[key] = new DebouncedValue<string>(value);
            }
            else if (known.Update(value, tick.Now, ConfirmTicks) is { } change
                && !(_knobNotes.TryGetValue(key, out var noted) && change.Since - noted <= KnobEchoSeconds))
            {
                add(change.Since, TimelineKind.Knob, key.Service, null, $"{key.Service} {key.Name}: {change.From} → {value} (as the {key.Service}s report it)");
            }
        }
    }

    /// <summary>A move of the expected ceiling by more than a tenth, held for a few ticks (scaling rng, a concurrency knob).</summary>
    private void CeilingMoves(TimelineObservation tick, Action<double, TimelineKind, string?, string?, string> add)
    {
        if (tick.Ceiling is not { } ceiling || !double.IsFinite(ceiling) || ceiling < 0)
        {
            _ceilingTicks = 0;
            return;
        }

        if (_ceiling is not { } known)
        {
            _ceiling = ceiling;
            return;
        }

        if (Math.Abs(ceiling - known) <= CeilingChange * known)
        {
            _ceilingTicks = 0;
            return;
        }

        if (_ceilingTicks++ == 0)
        {
            _ceilingSince = tick.Now;
        }

        if (_ceilingTicks >= ConfirmTicks)
        {
            add(_ceilingSince, TimelineKind.Ceiling, tick.LimitedBy, null,
                $"expected ceiling {known:F1} → {ceiling:F1} hashes/s{(tick.LimitedBy is { } part ? $", set by {part}" : "")}");
            _ceiling = ceiling;
            _ceilingTicks = 0;
        }
    }

}
