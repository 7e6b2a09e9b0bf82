using System.Text.Json.Serialization;

namespace RamCoin.WebUI;

/// <summary>
/// Something the web UI saw happen: an instance appearing or going, a version change, a knob change, a store
/// outage and its end, the rate falling by more than half and coming back, the expected ceiling moving. <see cref="Id"/> counts up in this
/// web UI, so a page can tell the events it has from new ones.
/// </summary>
public sealed record TimelineEvent(long Id, double At, TimelineKind Kind, string? Service, string? Instance, string Text);

/// <summary>The kinds of <see cref="TimelineEvent"/>; the JSON, the CSV and the page's markers name them in kebab case ("store-down").</summary>
[JsonConverter(typeof(TimelineKindConverter))]
public enum TimelineKind
{
    Start, Appeared, Gone, Version, Knob, StoreDown, StoreBack, RateDrop, RateRecovered, Ceiling,
}

/// <summary>A kind as a string, by the one naming rule: the enum member in kebab case.</summary>
public sealed class TimelineKindConverter() : JsonStringEnumConverter<TimelineKind>(Naming)
{
    private static readonly JsonNamingPolicy Naming = JsonNamingPolicy.KebabCaseLower;

    public static string Name(TimelineKind kind) => Naming.ConvertName(kind.ToString());
}

/// <summary>
/// <c>/timeline.json</c>: the events and, one point a second, the hash counter and the rate (null while the store
/// was down) and the expected ceiling (null when unknown), for lab write-ups and <c>ramcoin check</c>.
/// </summary>
public sealed record Timeline(IReadOnlyList<TimelineEvent> Events, List<double> T, List<long?> Hashes, List<double?> Rate, List<double?> Ceiling);

/// <summary>A knob changed through the web UI's knob controls: its service, name, and the values before and after.</summary>
public sealed record KnobChange(string Service, string Name, string? From, string? To);
