namespace RamCoin.Tests.Engine;

/// <summary>The containers a test started, removed when it ends, whether it passed or not.</summary>
public sealed class StartedContainers(DockerEngine engine) : IAsyncDisposable
{
    private readonly List<string> _ids = [];

    /// <summary>Keeps a started container's id for removal (tests start them in parallel too) and returns it.</summary>
    public string Add(string id)
    {
        lock (_ids)
        {
            _ids.Add(id);
        }

        return id;
    }

    public async ValueTask DisposeAsync()
    {
        if (_ids.Count > 0)
        {
            await engine.TryDockerAsync(["rm", "-f", .. _ids]);
        }
    }
}
