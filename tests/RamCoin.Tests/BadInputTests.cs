using System.Net.Sockets;
using System.Text;

namespace RamCoin.Tests;

/// <summary>
/// Bad input on every endpoint of every service: always a 4xx with a problem-details body, never a 5xx,
/// and every service still answers afterwards.
/// </summary>
public sealed class BadInputTests(AllServices services) : IClassFixture<AllServices>
{
    private const string Rng = ServiceNames.Rng;
    private const string Hasher = ServiceNames.Hasher;
    private const string WebUI = ServiceNames.WebUI;
    private const string Worker = ServiceNames.Worker;
    private static readonly string[] HttpServices = [Rng, Hasher, WebUI, Worker];

    /// <summary>service, method, path, body bytes (-1: none), chunked, extra header bytes, expected status.</summary>
    public static TheoryData<string, string, string, int, bool, int, int> Cases()
    {
        var cases = new TheoryData<string, string, string, int, bool, int, int>
        {
            // rng: byte counts that are not whole numbers from 0 to 1 MiB.
            { Rng, "GET", "/-1", -1, false, 0, 400 },
            { Rng, "GET", "/abc", -1, false, 0, 400 },
            { Rng, "GET", "/1048577", -1, false, 0, 400 },
            { Rng, "GET", "/2147483648", -1, false, 0, 400 },
            { Rng, "GET", "/99999999999999999999999999", -1, false, 0, 400 },
            { Rng, "GET", "/1e3", -1, false, 0, 400 },
            { Rng, "GET", "/0x20", -1, false, 0, 400 },
            { Rng, "GET", "/32abc", -1, false, 0, 400 },
            { Rng, "GET", "/%2032", -1, false, 0, 400 },
            { Rng, "GET", "/+32", -1, false, 0, 400 },
            { Rng, "GET", "/3.0", -1, false, 0, 400 },
            { Rng, "GET", "/%E0%A5%A9%E0%A5%A8", -1, false, 0, 400 }, // Devanagari digits
            { Rng, "GET", "/100000000", -1, false, 0, 400 },
            { Rng, "GET", "/32/more", -1, false, 0, 404 },
            { Rng, "POST", "/32", 10, false, 0, 405 },
            { Rng, "PUT", "/32", 10, false, 0, 405 },
            { Rng, "DELETE", "/32", -1, false, 0, 405 },
            { Rng, "PATCH", "/", 10, false, 0, 405 },

            // hasher: bodies over 1 MiB, however framed; wrong methods and paths.
            { Hasher, "POST", "/", 1_048_577, false, 0, 413 },
            { Hasher, "POST", "/", 1_048_577, true, 0, 413 },
            { Hasher, "POST", "/", 3_000_000, false, 0, 413 },
            { Hasher, "POST", "/", 3_000_000, true, 0, 413 },
            { Hasher, "POST", "/abc", 10, false, 0, 404 },
            { Hasher, "PUT", "/", 10, false, 0, 405 },
            { Hasher, "DELETE", "/", -1, false, 0, 405 },
            { Hasher, "PATCH", "/", 10, true, 0, 405 },
            { Hasher, "GET", "/32", -1, false, 0, 404 },

            // webui
            { WebUI, "POST", "/json", 10, false, 0, 405 },
            { WebUI, "PUT", "/json", 10, false, 0, 405 },
            { WebUI, "DELETE", "/", -1, false, 0, 405 },
            { WebUI, "GET", "/nope", -1, false, 0, 404 },
            { WebUI, "GET", "/index.html/x", -1, false, 0, 404 },
            { WebUI, "GET", "/%2e%2e/%2e%2e/etc/passwd", -1, false, 0, 404 },
            { WebUI, "GET", "/json/1", -1, false, 0, 404 },

            // worker
            { Worker, "POST", "/status", 10, false, 0, 405 },
            { Worker, "DELETE", "/status", -1, false, 0, 405 },
            { Worker, "GET", "/status/x", -1, false, 0, 404 },
            { Worker, "POST", "/", 10, false, 0, 405 },
        };
        foreach (var service in HttpServices)
        {
            cases.Add(service, "GET", "/" + new string('a', 5000), -1, false, 0, 414);
            cases.Add(service, "GET", "/?q=" + new string('b', 5000), -1, false, 0, 414);
            cases.Add(service, "GET", "/", -1, false, 20_000, 431);
            cases.Add(service, "OPTIONS", "/", -1, false, 0, 405);
            cases.Add(service, "POST", "/healthz", 10, false, 0, 405);
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadInputGetsA4xxProblem(string service, string method, string path, int bodyBytes, bool chunked, int headerBytes, int expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (bodyBytes >= 0)
        {
            request.Content = chunked ? new StreamContent(new MemoryStream(new byte[bodyBytes])) : new ByteArrayContent(new byte[bodyBytes]);
            request.Headers.TransferEncodingChunked = chunked;
        }

        if (headerBytes > 0)
        {
            request.Headers.Add("X-Padding", new string('p', headerBytes));
        }

        using var response = await services.Client(service).SendAsync(request, Ct);

        await ProblemAssert.IsProblemAsync(response, (HttpStatusCode)expected);
        if (expected == 405)
        {
            Assert.NotEmpty(response.Content.Headers.Allow);
        }
    }

    /// <summary>A 405's Allow header names the method the endpoint does take.</summary>
    [Theory]
    [InlineData(Rng, "POST", "/32", "GET")]
    [InlineData(Hasher, "PUT", "/", "POST")]
    [InlineData(WebUI, "POST", "/json", "GET")]
    [InlineData(Worker, "POST", "/status", "GET")]
    public async Task WrongMethodGets405WithAllowAndAProblem(string service, string method, string path, string allowed)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new ByteArrayContent([1]) };

        using var response = await services.Client(service).SendAsync(request, Ct);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.MethodNotAllowed);
        Assert.Contains(allowed, response.Content.Headers.Allow);
    }

    [Theory]
    [InlineData(Rng, "/%00")]
    [InlineData(WebUI, "/a%00b")]
    public async Task AURLThatBreaksHttpIsRefusedByKestrelWith400(string service, string path)
    {
        // Kestrel refuses these before any middleware runs, so they carry no problem body; the service goes on.
        using var response = await services.Client(service).GetAsync(path, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await services.Client(service).GetAsync("/healthz", Ct)).StatusCode);
    }

    [Fact]
    public async Task ASlowBodyIsCutWithA408Problem()
    {
        // Headers promise 100,000 bytes; the body trickles in far below Kestrel's minimum data rate.
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(services.Services[Hasher].Address.Host, services.Services[Hasher].Address.Port, Ct);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789"), Ct);

        var reader = new StreamReader(stream, Encoding.ASCII);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        var statusLine = await reader.ReadLineAsync(timeout.Token);
        var rest = await reader.ReadToEndAsync(timeout.Token);

        Assert.Equal("HTTP/1.1 408 Request Timeout", statusLine);
        Assert.Contains("application/problem+json", rest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RandomRequestsWithAFixedSeedNeverGetA5xx()
    {
        var random = new Random(20261127);
        string[] methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "GET", "GET", "POST"];
        string[] pieces = ["", "32", "-1", "json", "status", "index.html", "app.js", "healthz", "..", "%00", "%FF", "99999999999", "0", "1048576", "1048577", "ÿ", "a b", "%2F"];
        var statuses = new Dictionary<int, int>();
        for (var i = 0; i < 400; i++)
        {
            var service = HttpServices[random.Next(HttpServices.Length)];
            var path = "/" + string.Join('/', Enumerable.Range(0, random.Next(0, 3)).Select(_ => Uri.EscapeDataString(pieces[random.Next(pieces.Length)])));
            if (random.Next(5) == 0)
            {
                path += "?" + Uri.EscapeDataString(pieces[random.Next(pieces.Length)]) + "=" + random.Next();
            }

            // Absolute, so that a path such as "//app.js" stays a path.
            var uri = new Uri(services.Services[service].Address.GetLeftPart(UriPartial.Authority) + path);
            using var request = new HttpRequestMessage(new HttpMethod(methods[random.Next(methods.Length)]), uri);
            if (request.Method != HttpMethod.Get && random.Next(2) == 0)
            {
                var body = new byte[random.Next(4) == 0 ? random.Next(0, 1_200_000) : random.Next(0, 200)];
                random.NextBytes(body);
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.TryAddWithoutValidation("Content-Type", random.Next(2) == 0 ? "application/json" : "application/x-www-form-urlencoded");
                request.Headers.TransferEncodingChunked = random.Next(3) == 0;
            }

            using var response = await services.Client(service).SendAsync(request, Ct);
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            Assert.True(status < 500, $"{request.Method} {service}{path} answered {status}");
            if (status >= 400)
            {
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }

        Figures.Report("fuzz, 400 requests, seed 20261127: " + string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")));
        foreach (var service in HttpServices)
        {
            Assert.Equal(HttpStatusCode.OK, (await services.Client(service).GetAsync("/healthz", Ct)).StatusCode);
        }
    }
}
