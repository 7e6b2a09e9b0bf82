using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace RamCoin.Bench;

/// <summary>What one h2load run reports: its rate, and how many answers were 2xx among those it finished.</summary>
public sealed record H2loadResult(double Rate, long Done, long Succeeded, long Failed, long Errored, long Status2xx, string Protocol)
{
    /// <summary>Finished requests that were not a 2xx answer (failed streams, non-2xx statuses).</summary>
    public long Bad => Done - Status2xx;
}

public static partial class H2load
{
    /// <summary>
    /// Requests per second from <c>h2load -c16 -m<paramref name="streams"/> -t2</c> (h2c with prior knowledge on an
    /// http:// URL), GET or a 32-byte POST; as for wrk, a stray error is discounted and more than 1 % fails the run.
    /// </summary>
    public static async Task<double> RateAsync(string url, bool post, int streams, int seconds)
    {
        var args = new List<string> { "-c16", $"-m{streams}", "-t2", $"-D{seconds}", "--warm-up-time=1" };
        if (post)
        {
            var body = Path.Combine(Path.GetTempPath(), "ramcoin-bench-post.bin");
            await File.WriteAllTextAsync(body, new string('x', 32));
            args.AddRange(["-d", body, "-H", "content-type: application/octet-stream"]);
        }

        args.Add(url);
        var info = new ProcessStartInfo("h2load") { RedirectStandardOutput = true, RedirectStandardError = true };
        args.ForEach(info.ArgumentList.Add);
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException("h2load did not start (apt-get install -y nghttp2-client)");
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            var result = Parse(await output) ?? throw new InvalidOperationException($"h2load {string.Join(' ', args)}: no result: {await output}{await error}");
            if (result.Protocol != "h2c" || result.Done == 0 || result.Bad * 100 > result.Done)
            {
                throw new InvalidOperationException($"h2load {string.Join(' ', args)}: {result}: {await output}{await error}");
            }

            if (result.Bad > 0)
            {
                Console.WriteLine($"ramcoin-bench: {url}: {result.Bad} of {result.Done} h2load answers were errors; counted are the others.");
            }

            return result.Rate * result.Status2xx / result.Done;
        }
    }

    /// <summary>The figures of h2load's summary (nghttp2 1.52's format); null if it has none (it did not finish).</summary>
    public static H2loadResult? Parse(string output)
    {
        var finished = Finished().Match(output);
        var requests = Requests().Match(output);
        var status = Status().Match(output);
        if (!finished.Success || !requests.Success || !status.Success)
        {
            return null;
        }

        static long N(Match m, string group) => long.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
        return new H2loadResult(
            double.Parse(finished.Groups["rate"].Value, CultureInfo.InvariantCulture),
            N(requests, "done"), N(requests, "succeeded"), N(requests, "failed"), N(requests, "errored"), N(status, "ok"),
            Protocol().Match(output) is { Success: true } protocol ? protocol.Groups[1].Value : "none");
    }

    [GeneratedRegex(@"^finished in [\d.]+m?s, (?<rate>[\d.]+) req/s", RegexOptions.Multiline)]
    private static partial Regex Finished();

    [GeneratedRegex(@"^requests: \d+ total, \d+ started, (?<done>\d+) done, (?<succeeded>\d+) succeeded, (?<failed>\d+) failed, (?<errored>\d+) errored", RegexOptions.Multiline)]
    private static partial Regex Requests();

    [GeneratedRegex(@"^status codes: (?<ok>\d+) 2xx", RegexOptions.Multiline)]
    private static partial Regex Status();

    [GeneratedRegex(@"^Application protocol: (\S+)", RegexOptions.Multiline)]
    private static partial Regex Protocol();
}
