namespace RamCoin;

/// <summary>An event of the web UI's timeline, as <c>/timeline.json</c> gives it.</summary>
public sealed record LabEvent(double At, string Kind, string? Service, string? Instance, string Text);

/// <summary>The expected ceiling the dashboard computes: hashes/s, the part that sets it, and why.</summary>
public sealed record LabCeiling(double HashesPerSecond, string LimitedBy, string Explanation);

/// <summary>
/// What a lab check reads of a running deployment, through the web UI's API only: the latest dashboard
/// (<c>/dashboard.json</c>) and the timeline with its one-second series (<c>/timeline.json</c>). Times are the web
/// UI's clock, never the checking machine's (a laptop's clock may be off from a cluster's).
/// </summary>
public sealed record LabEvidence(
    double Now,
    IReadOnlyList<string> RngInstances,
    LabCeiling? Ceiling,
    IReadOnlyList<LabEvent> Events,
    IReadOnlyList<double> T,
    IReadOnlyList<long?> Hashes,
    IReadOnlyList<double?> Ceilings)
{
    /// <summary>The two answers, read; a <see cref="FormatException"/> says what is missing when they are not a RamCoin web UI's.</summary>
    public static LabEvidence Parse(string dashboardJson, string timelineJson)
    {
        using var dashboard = Document(dashboardJson, "dashboard.json");
        using var timeline = Document(timelineJson, "timeline.json");
        var d = dashboard.RootElement;
        var t = timeline.RootElement;

        var now = Number(d, "now", "dashboard.json");
        var rng = Property(d, "rng", "dashboard.json");
        var instances = Array(rng, "instances", "dashboard.json's rng")
            .Select(i => i.ValueKind != JsonValueKind.Object ? throw new FormatException("dashboard.json: an rng instance is not an object")
                : i.TryGetProperty("instance", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString()! : "?")
            .ToList();
        LabCeiling? ceiling = null;
        if (d.TryGetProperty("ceiling", out var c) && c.ValueKind == JsonValueKind.Object)
        {
            ceiling = new LabCeiling(
                Number(c, "hashesPerSecond", "dashboard.json's ceiling"),
                c.TryGetProperty("limitedBy", out var by) && by.ValueKind == JsonValueKind.String ? by.GetString()! : "",
                c.TryGetProperty("explanation", out var why) && why.ValueKind == JsonValueKind.String ? why.GetString()! : "");
        }

        var events = Array(t, "events", "timeline.json").Select(e => new LabEvent(
            Number(e, "at", "a timeline event"),
            Text(e, "kind") ?? throw new FormatException("timeline.json: an event has no kind"),
            Text(e, "service"),
            Text(e, "instance"),
            Text(e, "text") ?? "")).ToList();
        var times = Array(t, "t", "timeline.json").Select(v => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new FormatException("timeline.json: a time is not a number")).ToList();
        var hashes = Array(t, "hashes", "timeline.json").Select(v => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : (long?)null).ToList();
        // Older web UIs have no ceiling series: all unknown.
        var ceilings = t.TryGetProperty("ceiling", out var series) && series.ValueKind == JsonValueKind.Array
            ? series.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : (double?)null).ToList()
            : [.. times.Select(_ => (double?)null)];
        if (hashes.Count != times.Count || ceilings.Count != times.Count)
        {
            throw new FormatException("timeline.json: its series differ in length");
        }

        return new LabEvidence(now, instances, ceiling, events, times, hashes, ceilings);
    }

    private static JsonDocument Document(string json, string what)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{what} is not JSON ({ex.Message})", ex);
        }
    }

    private static JsonElement Property(JsonElement parent, string name, string where) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) ? value : throw new FormatException($"{where} has no '{name}'");

    private static double Number(JsonElement parent, string name, string where) =>
        Property(parent, name, where) is { ValueKind: JsonValueKind.Number } n ? n.GetDouble() : throw new FormatException($"{where}: '{name}' is not a number");

    private static JsonElement.ArrayEnumerator Array(JsonElement parent, string name, string where) =>
        Property(parent, name, where) is { ValueKind: JsonValueKind.Array } a ? a.EnumerateArray() : throw new FormatException($"{where}: '{name}' is not a list");

    private static string? Text(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
