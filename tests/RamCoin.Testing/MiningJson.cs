namespace RamCoin.Tests.Infrastructure;

public static class MiningJson
{
    /// <summary>
    /// The web UI's <c>/json</c>, or null while it answers its "not ready" 503: until the store first answers within
    /// /json's 80 ms budget, which a loaded machine can miss on the first store connection. Any other status, or a
    /// 200 that is not <c>application/json</c>, fails.
    /// </summary>
    public static async Task<JsonElement?> ReadAsync(HttpClient webui, string url = "/json")
    {
        using var response = await webui.GetAsync(url, TestContext.Current.CancellationToken);
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
            return null;
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
    }

    /// <summary>The first 200 answer of <c>/json</c>, polled for at most 10 s.</summary>
    public static async Task<JsonElement> FirstAsync(HttpClient webui, string url = "/json")
    {
        JsonElement? read = null;
        await Eventually.TrueAsync(async () => (read = await ReadAsync(webui, url)) is not null, "/json answers 200", 10);
        return read!.Value;
    }
}
