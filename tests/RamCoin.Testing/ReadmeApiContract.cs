using System.Text.RegularExpressions;

namespace RamCoin.Tests.Infrastructure;

/// <summary>
/// The wire contract in the README's "HTTP API" table, parsed, and its comparison with a service's OpenAPI document:
/// the fast tests check the running services with it, the Native AOT tests the trimmed binaries.
/// </summary>
public static partial class ReadmeApiContract
{
    private const string Every = "every";

    /// <summary>Fails with both differences when a document and the README's table disagree (also used on the AOT binaries).</summary>
    public static void AssertMatchesTheReadme(string service, JsonElement document)
    {
        var documented = Answers(document);
        var contract = ReadmeContract(service).SelectMany(o => o.Answers.Select(a => $"{o.Method} {o.Path} {a}")).ToHashSet();

        var notInReadme = documented.Except(contract).Order().ToList();
        var notInDocument = contract.Except(documented).Order().ToList();
        Assert.True(
            notInReadme.Count == 0 && notInDocument.Count == 0,
            $"{service}'s /openapi/v1.json and README.md's HTTP API table differ.\n"
            + $"In the document, not in the README:\n  {string.Join("\n  ", notInReadme)}\n"
            + $"In the README, not in the document:\n  {string.Join("\n  ", notInDocument)}");
    }

    public const string NoContent = "-";

    public sealed record ContractOperation(string Method, string Path, IReadOnlySet<string> Answers);

    /// <summary>A real path for a route template: rng's count, the web UI's knob target.</summary>
    public static string Sample(string path) => path.Replace("{count}", "32", StringComparison.Ordinal).Replace("{service}", "rng", StringComparison.Ordinal);

    public static IEnumerable<(string Method, string Path, JsonElement Operation)> Operations(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject().SelectMany(path =>
            path.Value.EnumerateObject().Select(op => (op.Name.ToUpperInvariant(), path.Name, op.Value)));

    /// <summary>"METHOD path status content-type", one per content type of each documented response.</summary>
    private static HashSet<string> Answers(JsonElement document) =>
        Operations(document).SelectMany(o => o.Operation.GetProperty("responses").EnumerateObject().SelectMany(response =>
        {
            var types = response.Value.TryGetProperty("content", out var content) ? content.EnumerateObject().Select(c => c.Name).ToList() : [];
            return (types.Count == 0 ? [NoContent] : types).Select(t => $"{o.Method} {o.Path} {response.Name} {t}");
        })).ToHashSet();

    /// <summary>The README's table, for one service: its own rows and the "every" rows.</summary>
    public static List<ContractOperation> ReadmeContract(string service)
    {
        var lines = Repo.Read("README.md").Split('\n');
        var header = Array.FindIndex(lines, l => l.Trim() == "| service | method | path | answers |");
        Assert.True(header >= 0, "README.md has no HTTP API table (| service | method | path | answers |)");
        var operations = new List<ContractOperation>();
        for (var i = header + 2; i < lines.Length && lines[i].StartsWith('|'); i++)
        {
            var cells = lines[i].Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            Assert.True(cells.Length == 4, $"README.md line {i + 1}: not four cells: {lines[i]}");
            if (cells[0] != service && cells[0] != Every)
            {
                continue;
            }

            var answers = cells[3].Split(';').SelectMany(part => ParseAnswers(part, i + 1)).ToHashSet();
            foreach (var method in cells[1].Split(',', StringSplitOptions.TrimEntries))
            {
                foreach (Match path in Code().Matches(cells[2]))
                {
                    operations.Add(new ContractOperation(method, path.Groups[1].Value, answers));
                }
            }
        }

        Assert.NotEmpty(operations);
        return operations;
    }

    /// <summary>"400, 503 `application/problem+json`" → "400 application/problem+json", "503 application/problem+json".</summary>
    private static IEnumerable<string> ParseAnswers(string part, int line)
    {
        var match = StatusesThenTypes().Match(part.Trim());
        Assert.True(match.Success, $"README.md line {line}: '{part.Trim()}' is not 'status[, status] `content/type`[, `content/type`]'");
        var types = Code().Matches(match.Groups["types"].Value).Select(m => m.Groups[1].Value).DefaultIfEmpty(NoContent).ToList();
        return match.Groups["statuses"].Value.Split(',', StringSplitOptions.TrimEntries).SelectMany(s => types.Select(t => $"{s} {t}"));
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Code();

    [GeneratedRegex(@"^(?<statuses>\d{3}(?:\s*,\s*\d{3})*)(?<types>(?:\s*,?\s*`[^`]+`)*)$")]
    private static partial Regex StatusesThenTypes();
}
