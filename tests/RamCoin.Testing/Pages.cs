using Microsoft.Playwright;

namespace RamCoin.Tests.Infrastructure;

/// <summary>What the page tests read and keep of a page in Chromium: its figures, its problems, a screenshot.</summary>
public static class Pages
{
    /// <summary>Injected by Playwright ahead of the page's own scripts (and outside its policy): records every CSP violation.</summary>
    public const string ViolationRecorder =
        "window.cspViolations = []; document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));";

    /// <summary>Console errors, failed requests and 4xx/5xx answers, collected while the test runs; CSP violations are counted in the page.</summary>
    public static async Task<List<string>> WatchAsync(IPage page)
    {
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                problems.Add("console: " + message.Text);
            }
        };
        page.RequestFailed += (_, request) => problems.Add("failed: " + request.Url);
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                problems.Add($"{response.Status}: {response.Url}");
            }
        };
        await page.AddInitScriptAsync(ViolationRecorder);
        return problems;
    }

    /// <summary>The violations <see cref="ViolationRecorder"/> saw.</summary>
    public static async Task<string[]> ViolationsAsync(IPage page) =>
        await page.EvaluateAsync<string[]>("window.cspViolations || []");

    /// <summary>A figure as the page shows it ("1,234.5"); 0 when it shows none.</summary>
    public static double Number(string? text) =>
        double.TryParse(text?.Replace(",", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : 0;

    public static async Task<double> NumberAsync(ILocator locator) => Number(await locator.TextContentAsync());

    /// <summary>Saves a screenshot as TestResults/<paramref name="file"/> beside the tests, for a person to look at.</summary>
    public static async Task SaveScreenshotAsync(IPage page, string file, bool fullPage = true)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "TestResults");
        Directory.CreateDirectory(dir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(dir, file), FullPage = fullPage });
    }
}
