namespace RamCoin.Tests;

/// <summary>
/// The course's "one component per machine" stage: rng alone in its own network namespace (a host of its own,
/// reached over a veth link), the link cut and restored while the worker mines.
/// </summary>
public sealed class NetworkNamespaceTests
{
    [Fact]
    public async Task CuttingAndRestoringTheLinkToRngLosesNothingAndMiningResumes()
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip"))
        {
            Assert.Skip("needs root and iproute2 to create network namespaces (bash .ci/run runs as root).");
        }

        var id = Random.Shared.Next(0x10000, 0xFFFFF).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        var ns = "rc" + id;
        var (hostSide, nsSide) = ($"rc{id}a", $"rc{id}b");
        var subnet = $"10.231.{Random.Shared.Next(1, 250)}";
        Process? rngProcess = null;
        try
        {
            Ip("netns", "add", ns);
            Ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
            Ip("link", "add", hostSide, "type", "veth", "peer", "name", nsSide);
            Ip("link", "set", nsSide, "netns", ns);
            Ip("addr", "add", $"{subnet}.1/30", "dev", hostSide);
            Ip("link", "set", hostSide, "up");
            Ip("netns", "exec", ns, "ip", "addr", "add", $"{subnet}.2/30", "dev", nsSide);
            Ip("netns", "exec", ns, "ip", "link", "set", nsSide, "up");

            // rng on its own "machine": the real program, started inside the namespace.
            var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "netns", "exec", ns, Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", Path.Combine(AppContext.BaseDirectory, "ramcoin.dll"), "rng", "--bind", $"{subnet}.2", "--rng-port", "8001", "--profile", "fast" })
            {
                start.ArgumentList.Add(arg);
            }

            rngProcess = Process.Start(start)!;
            rngProcess.OutputDataReceived += (_, _) => { };
            rngProcess.ErrorDataReceived += (_, _) => { };
            rngProcess.BeginOutputReadLine();
            rngProcess.BeginErrorReadLine();
            var rngUrl = new Uri($"http://{subnet}.2:8001/");
            using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            await Eventually.TrueAsync(
                async () =>
                {
                    try
                    {
                        return (await probe.GetStringAsync(rngUrl, Ct)).StartsWith("RNG running on", StringComparison.Ordinal);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        return false;
                    }
                },
                "rng answers across the veth link",
                40);

            await using var store = await StoreServer.StartGarnetAsync();
            await using var hasher = await RunningService.StartAsync(ServiceNames.Hasher, profile: Profile.Fast);
            await using var worker = await RunningService.StartAsync(
                ServiceNames.Worker,
                new() { ["WORKER_FLUSH_MS"] = "200", ["WORKER_TIMEOUT_MS"] = "300", ["WORKER_CONCURRENCY"] = "2" },
                Profile.Fast,
                store.Peers(rngUrl, hasher.Address));
            var stats = worker.Get<MiningStats>();
            await Eventually.TrueAsync(() => stats.Computed > 50, "the worker mines through the link");

            await PeerOutage.RideOutAsync(
                worker,
                store,
                "rng in its own network namespace, link cut",
                () =>
                {
                    Ip("link", "set", hostSide, "down");
                    return Task.CompletedTask;
                },
                () =>
                {
                    Ip("link", "set", hostSide, "up");
                    return Task.CompletedTask;
                });
        }
        finally
        {
            if (rngProcess is not null)
            {
                rngProcess.Kill(entireProcessTree: true);
                await rngProcess.WaitForExitAsync(CancellationToken.None);
                rngProcess.Dispose();
            }

            TryIp("link", "del", hostSide);
            TryIp("netns", "del", ns);
        }
    }

    private static void Ip(params string[] args)
    {
        var (code, output) = RunIp(args);
        Assert.True(code == 0, $"ip {string.Join(' ', args)} failed ({code}): {output}");
    }

    private static void TryIp(params string[] args) => RunIp(args);

    private static (int Code, string Output) RunIp(string[] args)
    {
        var info = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }
}
