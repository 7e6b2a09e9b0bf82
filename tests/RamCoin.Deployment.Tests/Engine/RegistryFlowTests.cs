namespace RamCoin.Tests.Engine;

/// <summary>
/// The registry flow exactly as docs/deployment.md writes it (REGISTRY=127.0.0.1:5000, TAG=v0.1): a registry, the four
/// images built and pushed, listed in its catalog, and compose running the images it pulls back.
/// </summary>
[Collection(nameof(RealEngine))]
public sealed class RegistryFlowTests(DockerEngine engine)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public void TheCommandsRunHereAreTheGuides()
    {
        var guide = Repo.Read("docs/deployment.md");
        foreach (var command in new[]
        {
            "docker compose -f compose.registry.yaml up -d", "export REGISTRY=127.0.0.1:5000 TAG=v0.1",
            "docker compose -f compose.images.yaml build", "docker compose -f compose.images.yaml push",
            "curl -s http://127.0.0.1:5000/v2/_catalog", "docker compose -f compose.images.yaml pull rng hasher webui worker", "docker compose -f compose.images.yaml up -d",
        })
        {
            Assert.Contains(command, guide, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TheImagesArePushedListedAndRunFromTheRegistry()
    {
        engine.Require();
        await engine.PushAsync();

        var catalog = await Http.GetFromJsonAsync<JsonElement>($"http://{DockerEngine.Registry}/v2/_catalog", Ct);
        var repositories = catalog.GetProperty("repositories").EnumerateArray().Select(r => r.GetString()).ToList();
        Assert.Equal(["hasher", "rng", "webui", "worker"], repositories.Where(r => DockerEngine.Services.Contains(r)).Order());
        foreach (var service in DockerEngine.Services)
        {
            var tags = await Http.GetFromJsonAsync<JsonElement>($"http://{DockerEngine.Registry}/v2/{service}/tags/list", Ct);
            Assert.Contains("v0.1", tags.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        }

        // Without the local copies: what runs next comes from the registry (compose would build missing images
        // of a service with a build section instead of pulling them; the guide's pull step fetches them).
        foreach (var service in DockerEngine.Services)
        {
            await engine.DockerAsync("image", "rm", $"{DockerEngine.Registry}/{service}:v0.1");
        }

        try
        {
            var pull = await engine.ShellAsync("export REGISTRY=127.0.0.1:5000 TAG=v0.1\ndocker compose -f compose.images.yaml pull rng hasher webui worker 2>&1");
            var up = await engine.ShellAsync("export REGISTRY=127.0.0.1:5000 TAG=v0.1\ndocker compose -f compose.images.yaml up -d 2>&1");
            Assert.DoesNotContain("Building", up, StringComparison.Ordinal);
            foreach (var service in DockerEngine.Services)
            {
                // docker-compose 1.29 says "Pulling rng ... done"; Docker's compose plugin "rng Pulled".
                Assert.Matches($@"Pulling {service}\b|\b{service} Pulled", pull);
                var image = (await engine.DockerAsync("inspect", "--format", "{{.Config.Image}}", Assert.Single(await engine.ContainersAsync(service)))).Trim();
                Assert.Equal($"{DockerEngine.Registry}/{service}:v0.1", image);
            }

            // TAG is the services' version; the pulled worker mines.
            long hashes = 0;
            await Eventually.TrueAsync(
                async () =>
                {
                    try
                    {
                        using var json = await Http.GetAsync("http://127.0.0.1:8000/json", Ct);
                        if (!json.IsSuccessStatusCode)
                        {
                            return false;
                        }

                        Assert.Equal("v0.1", json.Headers.GetValues(ServiceIdentity.VersionHeader).Single());
                        hashes = (await json.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("hashes").GetInt64();
                        return hashes > 0;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                "the pulled images mine",
                90);
        }
        finally
        {
            await engine.ShellAsync("export REGISTRY=127.0.0.1:5000 TAG=v0.1\ndocker compose -f compose.images.yaml down -v");
        }
    }
}
