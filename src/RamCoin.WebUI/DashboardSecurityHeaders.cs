using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.FileProviders;

namespace RamCoin.WebUI;

/// <summary>
/// The dashboard loads nothing but its own files, so its Content-Security-Policy allows its own origin only
/// (whatever path prefix a proxy puts in front), no inline scripts, and no framing by any page. The one inline
/// style, index.html's <c>font-size: 15px</c> for the course's <c>sed</c> exercise, is allowed by its hash, computed
/// from the file as served: an edit on disk shows at the next load, an injected style or script does not run.
/// </summary>
public static partial class DashboardSecurityHeaders
{
    /// <summary>The policy of every answer that is not an HTML page: no inline style at all.</summary>
    public static readonly string Default = PolicyWith("");

    private static string PolicyWith(string styleHashes) =>
        $"default-src 'self'; script-src 'self'; style-src 'self'{styleHashes}; img-src 'self' data:; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>nosniff and the default policy on every answer (problems included); pages get theirs from <see cref="ForPage"/>.</summary>
    public static IApplicationBuilder UseDashboardSecurityHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        // At the start of the answer, so that an answer the exception handler rewrote has them too.
        context.Response.OnStarting(
            static state =>
            {
                var headers = ((HttpResponse)state).Headers;
                headers.XContentTypeOptions = "nosniff";
                if (!headers.ContainsKey("Content-Security-Policy"))
                {
                    headers.ContentSecurityPolicy = Default;
                }

                return Task.CompletedTask;
            },
            context.Response);
        return next(context);
    });

    /// <summary>The policy of an HTML file: the default one, plus the hashes of the file's own <c>&lt;style&gt;</c> elements.</summary>
    public static string ForPage(IFileInfo file)
    {
        using var stream = file.CreateReadStream();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return ForHtml(reader.ReadToEnd());
    }

    public static string ForHtml(string html)
    {
        // The browser hashes the element's text as parsed: UTF-8, with every line break made \n.
        var hashes = StyleElement().Matches(html)
            .Select(m => m.Groups[1].Value.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n'))
            .Select(css => $" 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(css)))}'")
            .Distinct();
        return PolicyWith(string.Concat(hashes));
    }

    [GeneratedRegex(@"<style\b[^>]*>(.*?)</style\s*>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex StyleElement();
}

/// <summary>Puts the headers first in the pipeline, ahead of the shared limits and problem pages, so that every answer has them.</summary>
internal sealed class DashboardSecurityHeadersFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app => next(app.UseDashboardSecurityHeaders());
}
