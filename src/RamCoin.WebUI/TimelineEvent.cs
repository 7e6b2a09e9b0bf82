namespace RamCoin.WebUI;

/// <summary>
/// Something the web UI saw happen: an instance appearing or going, a version change, a knob change, a store
/// outage and its end, the rate falling by more than half and coming back, the expected ceiling moving. <see cref="Id"/> counts up in this
/// web UI, so a page can tell the events it has from new ones.
/// </summary>
public sealed record TimelineEvent(long Id, double At, string Kind, string? Service, string? Instance, string Text);

/// <summary>The kinds of <see cref="TimelineEvent"/>, as the JSON, the CSV and the page's markers name them.</summary>
public static class TimelineKinds
{
    public const string Start = "start";
    public const string Appeared = "appeared";
    public const string Gone = "gone";
    public const string Version = "version";
    public const string Knob = "knob";
    public const string StoreDown = "store-down";
    public const string StoreBack = "store-back";
    public const string RateDrop = "rate-drop";
    public const string RateRecovered = "rate-recovered";
    public const string Ceiling = "ceiling";
}

/// <summary>
/// <c>/timeline.json</c>: the events and, one point a second, the hash counter and the rate (null while the store
/// was down) and the expected ceiling (null when unknown), for lab write-ups and <c>ramcoin check</c>.
/// </summary>
public sealed record Timeline(IReadOnlyList<TimelineEvent> Events, List<double> T, List<long?> Hashes, List<double?> Rate, List<double?> Ceiling);

/// <summary>A knob changed through the web UI's knob controls: its service, name, and the values before and after.</summary>
public sealed record KnobChange(string Service, string Name, string? From, string? To);
