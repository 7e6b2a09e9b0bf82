using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace RamCoin.Tests.Engine;

/// <summary>
/// Every Dockerfile target built unchanged in the real engine (on the stand-in bases), then run: as the image says,
/// and under the Kubernetes pods' security settings with its peers found by their DockerCoins names.
/// </summary>
[Collection(nameof(RealEngine))]
public sealed class ImageTests(DockerEngine engine)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>deploy/kubernetes/base: runAsUser 1654, read-only root, no capability but NET_BIND_SERVICE, no privilege escalation,
    /// the port-80 sysctl, an emptyDir on /tmp.</summary>
    private static readonly string[] PodSecurity =
    [
        "--read-only", "--user", "1654:1654", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE", "--security-opt", "no-new-privileges",
        "--sysctl", "net.ipv4.ip_unprivileged_port_start=0", "--tmpfs", "/tmp",
    ];

    [Fact]
    public async Task EveryServiceImageRunsAsNonRootAndItsHealthCheckTurnsHealthy()
    {
        engine.Require();
        await engine.BuildTargetsAsync();

        foreach (var service in DockerEngine.Services)
        {
            var image = $"ramcoin/{service}";
            var user = (await engine.DockerAsync("image", "inspect", "--format", "{{.Config.User}}", image)).Trim();
            Assert.True(user is not ("" or "0" or "root"), $"{image} runs as {(user.Length == 0 ? "root" : user)}");
            Assert.Equal("1654", user);
            var check = (await engine.DockerAsync("image", "inspect", "--format", "{{json .Config.Healthcheck.Test}}", image)).Trim();
            Assert.Contains($"/app/{Binary(service)}", check, StringComparison.Ordinal);
            var size = long.Parse((await engine.DockerAsync("image", "inspect", "--format", "{{.Size}}", image)).Trim(), CultureInfo.InvariantCulture);
            var binary = await BinarySizeAsync(image, service);
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"engine: image {image}: {size / 1048576.0:F1} MiB on the Debian stand-in base, of which the binary {binary / 1048576.0:F1} MiB"));
        }

        // All four at once, each timed from its own docker run.
        await using var started = new StartedContainers(engine);
        await Task.WhenAll(DockerEngine.Services.Select(async service =>
        {
            var clock = Stopwatch.StartNew();
            var id = started.Add((await engine.DockerAsync("run", "-d", "--label", "ramcoin.test=image", "-p", "127.0.0.1::80", $"ramcoin/{service}")).Trim());
            var url = await PublishedAsync(id, 80);
            await Eventually.TrueAsync(async () => await StatusAsync(url + "healthz") == HttpStatusCode.OK, $"{service} answers /healthz", 30);
            var firstAnswer = clock.Elapsed;
            // Docker runs the first check one interval (10 s) after the start.
            await Eventually.TrueAsync(async () => await HealthAsync(id) == "healthy", $"{service}'s HEALTHCHECK turns healthy", 60);
            var healthy = clock.Elapsed;
            var memory = (await engine.MemoryAsync(id)).Values.Single();
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"engine: {service} container: first 200 after {firstAnswer.TotalMilliseconds:F0} ms (docker run included), healthy after {healthy.TotalSeconds:F1} s, {memory:F1} MiB at idle (docker stats)"));
        }));
    }

    [Fact]
    public async Task TheStoreImageRunsGarnetAsNonRootAndAnswersRespOnItsPort()
    {
        engine.Require();
        await engine.BuildTargetsAsync();
        var user = (await engine.DockerAsync("image", "inspect", "--format", "{{.Config.User}}", "ramcoin/store")).Trim();
        Assert.Equal("1654", user);

        // It listens on 0.0.0.0 in its container, so it needs a password (or RAMCOIN_ALLOW_OPEN_STORE=true).
        var id = (await engine.DockerAsync("run", "-d", "--label", "ramcoin.test=image", "-e", "REDIS_PASSWORD=s3cret-store-password", "-p", "127.0.0.1::6379", "ramcoin/store")).Trim();
        try
        {
            var port = new Uri(await PublishedAsync(id, 6379)).Port;
            string? answer = null;
            await Eventually.TrueAsync(async () => (answer = await PingAsync(port, "s3cret-store-password")) == "+PONG", "the store answers PING after AUTH", 60);
            var memory = (await engine.MemoryAsync(id)).Values.Single();
            Figures.Report(string.Create(CultureInfo.InvariantCulture, $"engine: store container (Garnet, JIT): {memory:F1} MiB at idle"));
        }
        finally
        {
            await engine.TryDockerAsync("rm", "-f", id);
        }
    }

    /// <summary>
    /// A runtime that leaves ports below 1024 closed to non-root users (containerd 1.x, CRI-O: the course's
    /// <c>kubectl create deployment</c> pods, no securityContext): each image still listens on port 80 as UID 1654, by
    /// its binary's file capability. Docker opens those ports by default, so the sysctl here closes them again.
    /// </summary>
    [Fact]
    public async Task WithPrivilegedPortsClosedEachImageStillListensOnPort80AsNonRoot()
    {
        engine.Require();
        await engine.BuildTargetsAsync();
        await using var started = new StartedContainers(engine);
        foreach (var service in DockerEngine.Services)
        {
            var id = started.Add((await engine.DockerAsync("run", "-d", "--label", "ramcoin.test=ports", "--sysctl", "net.ipv4.ip_unprivileged_port_start=1024", "-p", "127.0.0.1::80", $"ramcoin/{service}")).Trim());
            var url = await PublishedAsync(id, 80);
            await Eventually.TrueAsync(async () => await StatusAsync(url + "healthz") == HttpStatusCode.OK, $"{service} answers on port 80 with the port closed to non-root users", 30);
            Assert.Equal("1654", (await engine.DockerAsync("inspect", "--format", "{{.Config.User}}", id)).Trim());
        }
    }

    [Fact]
    public async Task UnderThePodsSecuritySettingsTheImagesKeepTheWireContractAndFindTheirPeersByName()
    {
        engine.Require();
        await engine.BuildTargetsAsync();
        var network = "ramcoin-test-" + Guid.NewGuid().ToString("N")[..8];
        await engine.DockerAsync("network", "create", "--label", "ramcoin.test=hardened", network);
        var containers = new Dictionary<string, string>();
        try
        {
            containers["redis"] = (await engine.DockerAsync("run", "-d", "--label", "ramcoin.test=hardened", "--network", network, "--network-alias", "redis", "redis:7")).Trim();
            foreach (var service in DockerEngine.Services)
            {
                containers[service] = (await engine.DockerAsync(
                [
                    "run", "-d", "--label", "ramcoin.test=hardened", "--network", network, "--network-alias", service,
                    "--hostname", $"{service}-hardened", .. PodSecurity, "-p", "127.0.0.1::80", $"ramcoin/{service}",
                ])).Trim();
            }

            var rng = await PublishedAsync(containers["rng"], 80);
            var hasher = await PublishedAsync(containers["hasher"], 80);
            var worker = await PublishedAsync(containers["worker"], 80);
            var webui = await PublishedAsync(containers["webui"], 80);
            await Eventually.TrueAsync(async () => await StatusAsync(rng + "healthz") == HttpStatusCode.OK, "rng answers", 30);

            Assert.Equal("RNG running on rng-hardened\n", await Http.GetStringAsync(rng, Ct));
            using var bytes = await Http.GetAsync(rng + "32", Ct);
            Assert.Equal("application/octet-stream", bytes.Content.Headers.ContentType?.MediaType);
            var random = await bytes.Content.ReadAsByteArrayAsync(Ct);
            Assert.Equal(32, random.Length);

            await Eventually.TrueAsync(async () => await StatusAsync(hasher + "healthz") == HttpStatusCode.OK, "hasher answers", 30);
            Assert.Equal("HASHER running on hasher-hardened\n", await Http.GetStringAsync(hasher, Ct));
            using var content = new ByteArrayContent(random);
            content.Headers.ContentType = new("application/octet-stream");
            using var hashed = await Http.PostAsync(hasher, content, Ct);
            Assert.Equal("text/plain", hashed.Content.Headers.ContentType?.MediaType);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(random)), await hashed.Content.ReadAsStringAsync(Ct));

            // The worker finds rng, hasher and redis by name on the network, and the web UI reads what it wrote.
            long written = 0;
            await Eventually.TrueAsync(
                async () => await StatusAsync(worker + "status") == HttpStatusCode.OK
                    && (written = (await Http.GetFromJsonAsync<JsonElement>(worker + "status", Ct)).GetProperty("hashesWritten").GetInt64()) > 0,
                "the hardened worker writes hashes",
                45);
            await Eventually.TrueAsync(
                async () => await StatusAsync(webui + "json") == HttpStatusCode.OK
                    && (await Http.GetFromJsonAsync<JsonElement>(webui + "json", Ct)).GetProperty("hashes").GetInt64() >= written,
                "the hardened web UI shows the store's counter",
                30);
            using var json = await Http.GetAsync(webui + "json", Ct);
            Assert.Equal("application/json", json.Content.Headers.ContentType?.MediaType);
            var body = await json.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.True(body.GetProperty("now").GetDouble() > 1_700_000_000);
            Assert.True(body.TryGetProperty("coins", out _));

            foreach (var (service, id) in containers.Where(c => c.Key != "redis"))
            {
                var settings = (await engine.DockerAsync("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}} {{.Config.User}} {{.HostConfig.CapDrop}} {{.State.Running}}", id)).Trim();
                Assert.Equal("true 1654:1654 [ALL] true", settings);
            }

            var memory = await engine.MemoryAsync([.. containers.Values]);
            Figures.Report("engine: hardened containers (classic profile, one worker mining): " + string.Join(", ", containers.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key} {memory[c.Value]:F1} MiB"))));
        }
        finally
        {
            if (containers.Count > 0)
            {
                await engine.TryDockerAsync(["rm", "-f", .. containers.Values]);
            }

            await engine.TryDockerAsync("network", "rm", network);
        }
    }

    private static string Binary(string service) => service switch
    {
        "rng" => "RamCoin.Rng",
        "hasher" => "RamCoin.Hasher",
        "worker" => "RamCoin.Worker",
        _ => "RamCoin.WebUI",
    };

    /// <summary>The size of the service's binary in its image (copied out: a chiseled image has no shell to ask).</summary>
    private async Task<long> BinarySizeAsync(string image, string service)
    {
        var id = (await engine.DockerAsync("create", image)).Trim();
        var folder = Directory.CreateTempSubdirectory("ramcoin-binary-").FullName;
        try
        {
            await engine.DockerAsync("cp", $"{id}:/app/{Binary(service)}", folder);
            return new FileInfo(Path.Combine(folder, Binary(service))).Length;
        }
        finally
        {
            await engine.TryDockerAsync("rm", id);
            Directory.Delete(folder, recursive: true);
        }
    }

    private async Task<string> PublishedAsync(string id, int port)
    {
        // "127.0.0.1:49153"
        var mapping = (await engine.DockerAsync("port", id, $"{port}/tcp")).Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Trim();
        return $"http://{mapping}/";
    }

    private async Task<string> HealthAsync(string id) =>
        (await engine.DockerAsync("inspect", "--format", "{{.State.Health.Status}}", id)).Trim();

    private static async Task<HttpStatusCode?> StatusAsync(string url)
    {
        try
        {
            using var response = await Http.GetAsync(url, Ct);
            return response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>AUTH, then PING: the last line answered (<c>+PONG</c> once the password is accepted).</summary>
    private static async Task<string?> PingAsync(int port, string password)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, Ct);
            var stream = client.GetStream();
            // RESP arrays, as clients send them: Garnet answers an inline AUTH with NOAUTH.
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"*2\r\n$4\r\nAUTH\r\n${password.Length}\r\n{password}\r\n*1\r\n$4\r\nPING\r\n"), Ct);
            var buffer = new byte[256];
            var length = 0;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            cts.CancelAfter(TimeSpan.FromSeconds(2));
            // Two replies, one line each; they may arrive in one read or two.
            while (Encoding.ASCII.GetString(buffer, 0, length).Split("\r\n").Length < 3 && length < buffer.Length)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(length), cts.Token);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            return Encoding.ASCII.GetString(buffer, 0, length).TrimEnd().Split("\r\n")[^1];
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }
}
