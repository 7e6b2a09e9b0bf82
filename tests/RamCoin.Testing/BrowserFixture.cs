using Microsoft.Playwright;

namespace RamCoin.Tests.Infrastructure;

/// <summary>Debian's Chromium, headless, driven by Playwright (no browser download: the machine's own).</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>
    /// Debian's chromium-headless-shell where installed (what Playwright itself runs headless: the same Chromium build
    /// without the desktop browser around it, a third of the CPU per page here), else its chromium; CHROMIUM_PATH
    /// names another Chromium build (GitHub's runners have google-chrome).
    /// </summary>
    public static readonly string ChromiumPath =
        Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path
        : File.Exists(HeadlessShellPath) ? HeadlessShellPath
        : "/usr/bin/chromium";

    private const string HeadlessShellPath = "/usr/bin/chromium-headless-shell";

    private readonly SemaphoreSlim _launch = new(1, 1);
    private IPlaywright? _playwright;

    public IBrowser? Browser { get; private set; }

    /// <summary>
    /// Nothing yet: Chromium starts with the first page, so that a fixture shared by a whole test assembly costs nothing
    /// in a run without page tests.
    /// </summary>
    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    /// <summary>A new page; skips the test with the reason when Chromium is not installed (CI installs it and fails on skips).</summary>
    public async Task<IPage> NewPageAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            Assert.Skip("chromium is not installed: run 'apt-get install -y chromium-headless-shell' (bash .ci/run installs it).");
        }

        var browser = await LaunchOnceAsync();
        return await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1500 } });
    }

    private async Task<IBrowser> LaunchOnceAsync()
    {
        await _launch.WaitAsync();
        try
        {
            if (Browser is null)
            {
                _playwright = await Playwright.CreateAsync();
                Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
                {
                    ExecutablePath = ChromiumPath,
                    Headless = true,
                    // Without the background-networking flags Chromium keeps trying to reach Google's hosts.
                    Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
                });
            }

            return Browser;
        }
        finally
        {
            _launch.Release();
        }
    }

    /// <summary>A new page, opened at a running service's address (the web UI's root redirects to the dashboard).</summary>
    public async Task<IPage> OpenAsync(RunningService service)
    {
        var page = await NewPageAsync();
        await page.GotoAsync(service.Address.ToString());
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        _launch.Dispose();
    }
}
