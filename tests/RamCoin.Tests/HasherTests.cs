using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace RamCoin.Tests;

public sealed class HasherTests
{
    private static readonly Dictionary<string, string?> NoDelay = new() { ["HASHER_DELAY_MS"] = "0" };

    [Theory]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    public async Task AnswersTheLowercaseSha256HexAsPlainTextWithoutNewline(string input, string expected)
    {
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, NoDelay);

        using var response = await hasher.Client.PostAsync("/", new ByteArrayContent(Encoding.ASCII.GetBytes(input)), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(expected, await response.Content.ReadAsStringAsync(Ct));
    }

    [Theory]
    [InlineData("application/octet-stream")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json")]
    [InlineData("text/plain")]
    public async Task HashesTheRawBodyWhateverItsContentType(string contentType)
    {
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, NoDelay);
        var body = "a=1&b={\"x\":2}"u8.ToArray();
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);

        using var response = await hasher.Client.PostAsync("/", content, Ct);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(body)), await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task HashesAChunkedBodyWhole()
    {
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, NoDelay);
        var body = RandomNumberGenerator.GetBytes(200_000);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StreamContent(new MemoryStream(body)) };
        request.Headers.TransferEncodingChunked = true;

        using var response = await hasher.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(body)), await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task HashesA1MiBBody()
    {
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, NoDelay);
        var body = RandomNumberGenerator.GetBytes(1_048_576);

        using var response = await hasher.Client.PostAsync("/", new ByteArrayContent(body), Ct);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(body)), await response.Content.ReadAsStringAsync(Ct));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RefusesABodyOver1MiBWith413AndAProblem(bool chunked)
    {
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, NoDelay);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/")
        {
            Content = chunked ? new StreamContent(new MemoryStream(new byte[1_048_577])) : new ByteArrayContent(new byte[1_048_577]),
        };
        request.Headers.TransferEncodingChunked = chunked;

        using var response = await hasher.Client.SendAsync(request, Ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task ServesRequestsSideBySide()
    {
        await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, new() { ["HASHER_DELAY_MS"] = "1000" });
        await hasher.Client.PostAsync("/", new ByteArrayContent([1]), Ct);

        // One at a time, four answers take at least 4 s. A loaded machine only makes a round slower, so one round of
        // three under 3 s proves they were served side by side.
        var rounds = new List<long>();
        for (var round = 0; round < 3 && (rounds.Count == 0 || rounds.Min() >= 3000); round++)
        {
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, 4).Select(i => hasher.Client.PostAsync("/", new ByteArrayContent([(byte)i]), Ct)));
            rounds.Add(clock.ElapsedMilliseconds);
        }

        Assert.True(rounds.Min() >= 1000, "each answer waits the delay");
        Assert.True(rounds.Min() < 3000, $"four requests took {string.Join(", ", rounds)} ms; one at a time takes 4000");
    }
}
