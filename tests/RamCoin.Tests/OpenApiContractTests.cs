namespace RamCoin.Tests;

/// <summary>
/// The wire contract in the README's "HTTP API" table, the OpenAPI document each running service serves, and
/// what the service really answers: the three must agree, in both directions.
/// </summary>
public sealed class OpenApiContractTests(AllServices services) : IClassFixture<AllServices>
{
    public static TheoryData<string> Services() => [ServiceNames.Rng, ServiceNames.Hasher, ServiceNames.Worker, ServiceNames.WebUI];

    [Theory]
    [MemberData(nameof(Services))]
    public async Task DocumentMatchesTheReadmeTable(string service)
    {
        using var document = await DocumentAsync(service);

        ReadmeApiContract.AssertMatchesTheReadme(service, document.RootElement);
        Assert.StartsWith("3.", document.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        Assert.Equal("RamCoin " + service, document.RootElement.GetProperty("info").GetProperty("title").GetString());
    }

    [Theory]
    [MemberData(nameof(Services))]
    public async Task EveryOperationHasAUniqueNameAndASummary(string service)
    {
        using var document = await DocumentAsync(service);

        var operations = ReadmeApiContract.Operations(document.RootElement).ToList();
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
        foreach (var path in ReadmeApiContract.ReadmeContract(service).GroupBy(o => o.Path))
        {
            using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, ReadmeApiContract.Sample(path.Key)), Ct);

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
        foreach (var operation in ReadmeApiContract.ReadmeContract(service).Where(o => o.Method is "GET" or "HEAD"))
        {
            using var request = new HttpRequestMessage(new HttpMethod(operation.Method), ReadmeApiContract.Sample(operation.Path));
            // Headers only: /events streams until the client leaves.
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);

            var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var answer = $"{status} {response.Content.Headers.ContentType?.MediaType ?? ReadmeApiContract.NoContent}";
            Assert.True(
                operation.Answers.Contains(answer),
                $"{operation.Method} {operation.Path} on {service} answered {answer}; the README says {string.Join(", ", operation.Answers)}");
        }
    }

    /// <summary>DockerCoins' <c>GET /</c>, the same for every service with an API group of its own.</summary>
    [Theory]
    [InlineData(ServiceNames.Rng, "RNG")]
    [InlineData(ServiceNames.Hasher, "HASHER")]
    [InlineData(ServiceNames.Worker, "WORKER")]
    public async Task RootSaysTheServiceIsRunningOnThisHost(string service, string label) =>
        Assert.Equal($"{label} running on {Environment.MachineName}\n", await services.Client(service).GetStringAsync("/", Ct));

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

    private async Task<JsonDocument> DocumentAsync(string service)
    {
        using var response = await services.Client(service).GetAsync(OpenApiDocuments.Path, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
    }

    private HttpClient NoRedirects(string service) =>
        new(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = services.Services[service].Address, Timeout = TimeSpan.FromSeconds(10) };
}
