using System.CommandLine;
using System.Net;

namespace RamCoin;

/// <summary>
/// <c>ramcoin check &lt;lesson&gt; --webui URL</c>: reads a running deployment (local, compose, Swarm or Kubernetes)
/// through its web UI's HTTP API only, and prints ✓ or ✗ for each of the lesson's expectations with the numbers and
/// a hint. Exit 0 when all pass, 1 when one fails, 2 for bad usage or a web UI that does not answer as one.
/// </summary>
public static class LabCheckCommand
{
    /// <summary>The local run's web UI: <c>ramcoin check scaling</c> checks the <c>ramcoin</c> on this machine.</summary>
    public const string DefaultWebUI = "http://127.0.0.1:8000/";

    public const double DefaultWindowSeconds = 300;

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The most read of one answer: an hour's timeline is under 1 MiB; a bigger answer is not a web UI's.</summary>
    public const int MaxAnswerBytes = 16 * 1024 * 1024;

    public static Command Create(TextWriter? output, TextWriter? error)
    {
        var lesson = new Argument<string>("lesson")
        {
            Description = $"What to check: {string.Join(", ", LabChecks.Lessons)}.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var webui = new Option<string>("--webui")
        {
            Description = $"The web UI's address, as a browser opens it (default {DefaultWebUI}; a kubectl proxy or port-forward address works).",
        };
        var window = new Option<string>("--window")
        {
            Description = $"How far back events count: seconds, or with s or m (default {DefaultWindowSeconds:F0} s; the web UI keeps an hour).",
        };
        var command = new Command("check", "Check a lesson's outcome on a running deployment, through its web UI's API.") { lesson, webui, window };
        command.SetAction((parsed, cancellationToken) => RunAsync(
            parsed.GetValue(lesson), parsed.GetValue(webui), parsed.GetValue(window), output ?? Console.Out, error ?? Console.Error, cancellationToken));
        return command;
    }

    public static async Task<int> RunAsync(string? lesson, string? webui, string? window, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        int Usage(string message)
        {
            error.WriteLine($"ramcoin check: {message}");
            return 2;
        }

        if (lesson is null || !LabChecks.Lessons.Contains(lesson))
        {
            return Usage($"{(lesson is null ? "name a lesson" : $"'{lesson}' is not a lesson")}: {string.Join(", ", LabChecks.Lessons)}.");
        }

        if (!TryParseWindow(window, out var seconds))
        {
            return Usage($"--window: '{window}' is not a duration (such as 300, 90s or 5m, at most 60m).");
        }

        var address = webui ?? DefaultWebUI;
        if (!Uri.TryCreate(address.EndsWith('/') ? address : address + "/", UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            return Usage($"--webui: '{address}' is not an http:// or https:// address.");
        }

        LabEvidence evidence;
        try
        {
            // Buffered up to the cap, then refused (HttpRequestException): a huge answer is never read whole.
            using var http = new HttpClient { Timeout = RequestTimeout, MaxResponseContentBufferSize = MaxAnswerBytes };
            var dashboard = await ReadAsync(http, baseUri, "dashboard.json", cancellationToken);
            var timeline = await ReadAsync(http, baseUri, "timeline.json", cancellationToken);
            evidence = LabEvidence.Parse(dashboard, timeline);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or FormatException)
        {
            var reason = ex is TaskCanceledException && !cancellationToken.IsCancellationRequested ? $"no answer in {RequestTimeout.TotalSeconds:F0} s" : ex.Message;
            return Usage($"the web UI at {baseUri} cannot be read: {reason}");
        }

        var checks = LabChecks.Run(lesson, evidence, seconds);
        output.WriteLine($"ramcoin check {lesson}: {baseUri} (events of the last {seconds:F0} s)");
        foreach (var check in checks)
        {
            output.WriteLine($"  {(check.Passed ? "✓" : "✗")} {check.Expectation}: {check.Measured}");
            if (!check.Passed && check.Hint is { } hint)
            {
                output.WriteLine($"      hint: {hint}");
            }
        }

        var failed = checks.Count(c => !c.Passed);
        output.WriteLine(failed == 0 ? $"{lesson}: all {checks.Count} checks pass." : $"{lesson}: {failed} of {checks.Count} checks fail.");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>One of the web UI's JSON answers; anything but 200 is an error that says what the web UI answered.</summary>
    private static async Task<string> ReadAsync(HttpClient http, Uri baseUri, string path, CancellationToken cancellationToken)
    {
        using var answer = await http.GetAsync(new Uri(baseUri, path), cancellationToken);
        if (answer.StatusCode != HttpStatusCode.OK)
        {
            var why = answer.StatusCode switch
            {
                HttpStatusCode.ServiceUnavailable => " (it has no sample of the store yet: try again in a few seconds)",
                HttpStatusCode.NotFound => " (not a RamCoin web UI, or one older than the timeline)",
                _ => "",
            };
            throw new HttpRequestException($"{path} answered {(int)answer.StatusCode}{why}");
        }

        return await answer.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>"300", "90s" or "5m"; from 1 s to the hour the web UI keeps.</summary>
    public static bool TryParseWindow(string? text, out double seconds)
    {
        seconds = DefaultWindowSeconds;
        if (text is null)
        {
            return true;
        }

        var (number, unit) = text.EndsWith('m') ? (text[..^1], 60L) : text.EndsWith('s') ? (text[..^1], 1L) : (text, 1L);
        if (long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= 3600 && value * unit is >= 1 and <= 3600)
        {
            seconds = value * unit;
            return true;
        }

        return false;
    }
}
