using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using RamCoin.Hosting;
using RamCoin.Tests.Infrastructure;

namespace RamCoin.Tests;

/// <summary>
/// The wire contract in the README's "HTTP API" table, the OpenAPI document each running service serves, and
/// what the service really answers: the three must agree, in both directions.
/// </summary>
public sealed partial class OpenApiContractTests(AllServices services) : IClassFixture<AllServices>
{
    private const string Every = "every";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Services() => [ServiceNames.Rng, ServiceNames.Hasher, ServiceNames.Worker, ServiceNames.WebUI];

    [Theory]
    [MemberData(nameof(Services))]
    public async Task DocumentMatchesTheReadmeTable(string service)
    {
        using var document = await DocumentAsync(service);

        AssertMatchesTheReadme(service, document.RootElement);
        Assert.StartsWith("3.", document.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.Equal("RamCoin " + service, document.RootElement.GetProperty("info").GetProperty("title").GetString());
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task EveryOperationHasAUniqueNameAndASummary(string service)
    {
        using var document = await DocumentAsync(service);

        var operations = Operations(document.RootElement).ToList();
        Assert.NotEmpty(operations);
        foreach (var (method, path, operation) in operations)
        {
            Assert.False(string.IsNullOrWhiteSpace(operation.TryGetProperty("operationId", out var id) ? id.GetString() : null), $"{method} {path} has no name (WithName)");
            Assert.False(string.IsNullOrWhiteSpace(operation.TryGetProperty("summary", out var summary) ? summary.GetString() : null), $"{method} {path} has no summary (WithSummary)");
        }

        var ids = operations.Select(o => o.Operation.GetProperty("operationId").GetString()).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    /// <summary>The routes themselves: a method the table does not list gets 405 with exactly the listed methods in Allow.</summary>
    [Theory]
    [MemberData(nameof(Services))]
    public async Task EveryPathAllowsExactlyTheReadmeMethods(string service)
    {
        using var client = NoRedirects(service);
        foreach (var path in ReadmeContract(service).GroupBy(o => o.Path))
        {
            using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, Sample(path.Key)), Ct);

            Assert.True(response.StatusCode == HttpStatusCode.MethodNotAllowed, $"DELETE {path.Key} on {service} answered {(int)response.StatusCode}, not 405");
            var allowed = response.Content.Headers.Allow.Select(m => m.ToUpperInvariant()).Order();
            Assert.Equal(path.Select(o => o.Method).Distinct().Order(), allowed);
        }
    }

    /// <summary>The handlers: each GET and HEAD the table lists answers one of its statuses, with that status's content type.</summary>
    [Theory]
    [MemberData(nameof(Services))]
    public async Task EveryGetAnswersAsTheReadmeSays(string service)
    {
        using var client = NoRedirects(service);
        foreach (var operation in ReadmeContract(service).Where(o => o.Method is "GET" or "HEAD"))
        {
            using var request = new HttpRequestMessage(new HttpMethod(operation.Method), Sample(operation.Path));
            // Headers only: /events streams until the client leaves.
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);

            var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var answer = $"{status} {response.Content.Headers.ContentType?.MediaType ?? NoContent}";
            Assert.True(
                operation.Answers.Contains(answer),
                $"{operation.Method} {operation.Path} on {service} answered {answer}; the README says {string.Join(", ", operation.Answers)}");
        }
    }

    /// <summary>rng's <c>GET /{count}</c> still owns every one-segment path; the document's two segments never reach it.</summary>
    [Fact]
    public async Task RngKeepsItsCountRouteBesideTheDocument()
    {
        var rng = services.Client(ServiceNames.Rng);

        using var openapi = await rng.GetAsync("/openapi", Ct);
        using var bytes = await rng.GetAsync("/32", Ct);

        await ProblemAssert.IsProblemAsync(openapi, HttpStatusCode.BadRequest);
        Assert.Equal("application/octet-stream", bytes.Content.Headers.ContentType?.MediaType);
        Assert.Equal(32, (await bytes.Content.ReadAsByteArrayAsync(Ct)).Length);
    }

    /// <summary>Fails with both differences when a document and the README's table disagree (also used on the AOT binaries).</summary>
    internal static void AssertMatchesTheReadme(string service, JsonElement document)
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

    private const string NoContent = "-";

    private sealed record ContractOperation(string Method, string Path, IReadOnlySet<string> Answers);

    private async Task<JsonDocument> DocumentAsync(string service)
    {
        using var response = await services.Client(service).GetAsync(OpenApiDocuments.Path, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
    }

    private HttpClient NoRedirects(string service) =>
        new(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = services.Services[service].Address, Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>A real path for a route template: rng's count, the web UI's knob target.</summary>
    private static string Sample(string path) => path.Replace("{count}", "32", StringComparison.Ordinal).Replace("{service}", "rng", StringComparison.Ordinal);

    private static IEnumerable<(string Method, string Path, JsonElement Operation)> Operations(JsonElement document) =>
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
    private static List<ContractOperation> ReadmeContract(string service)
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
