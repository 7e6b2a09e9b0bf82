using System.Text.RegularExpressions;

namespace RamCoin.Tests.Infrastructure;

/// <summary>Reads a service's <c>/metrics</c> (Prometheus text format) and sums series by name and labels.</summary>
public static partial class PrometheusText
{
    public static async Task<string> ScrapeAsync(HttpClient client) =>
        await client.GetStringAsync("/metrics", TestContext.Current.CancellationToken);

    /// <summary>The sum of every series named <paramref name="name"/> whose labels contain all of <paramref name="labels"/>.</summary>
    public static double Sum(string text, string name, params string[] labels) =>
        Series().Matches(text)
            .Where(m => m.Groups["name"].Value == name && labels.All(l => m.Groups["labels"].Value.Contains(l, StringComparison.Ordinal)))
            .Sum(m => double.Parse(m.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture));

    public static IReadOnlySet<string> Names(string text) =>
        Series().Matches(text).Select(m => m.Groups["name"].Value).ToHashSet();

    // Label values are quoted and may hold braces (http_route="/{count}").
    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>(?:[^}""]|""(?:[^""\\]|\\.)*"")*)\})?\s+(?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Series();
}
