using System.Text.RegularExpressions;

namespace RamCoin.Tests;

/// <summary>
/// The README a newcomer reads first and the pages in docs/: short, every relative link and anchor resolves, and the
/// README's commands are the ones its guides (which the tests run) write.
/// </summary>
public sealed partial class DocumentationTests
{
    public static TheoryData<string> Pages() => [.. PagePaths()];

    /// <summary>The README, the pages in docs/ and the deployment guides (deploy/kubernetes, the chart's README).</summary>
    private static List<string> PagePaths() =>
        [.. Repo.SourceFiles("*.md").Select(p => p.Replace(Path.DirectorySeparatorChar, '/'))
            .Where(p => p == "README.md" || p.StartsWith("docs/", StringComparison.Ordinal) || p.StartsWith("deploy/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];

    [Fact]
    public void TheReadmeIsAtMost300LinesAndLinksEveryPageInDocs()
    {
        var readme = Repo.Read("README.md");

        var lines = readme.TrimEnd('\n').Split('\n').Length;
        Assert.True(lines <= 300, $"README.md has {lines} lines: at most 300, the rest goes to docs/");
        var pages = PagePaths().Where(p => p.StartsWith("docs/", StringComparison.Ordinal)).ToList();
        Assert.True(pages.Count >= 8, $"docs/ has {pages.Count} pages");
        Assert.All(pages, page => Assert.Contains($"]({page})", readme, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void EveryRelativeLinkAndAnchorResolves(string page)
    {
        var broken = new List<string>();
        foreach (Match link in Link().Matches(Prose(Repo.Read(page))))
        {
            var target = link.Groups[1].Value;
            if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
            {
                continue;
            }

            var hash = target.IndexOf('#', StringComparison.Ordinal);
            var (file, anchor) = hash < 0 ? (target, null) : (target[..hash], target[(hash + 1)..]);
            var resolved = file.Length == 0 ? page : Path.GetRelativePath(Repo.Root, Path.GetFullPath(Path.Combine(Repo.Root, Path.GetDirectoryName(page)!, file))).Replace(Path.DirectorySeparatorChar, '/');
            if (!File.Exists(Repo.PathOf(resolved)) && !Directory.Exists(Repo.PathOf(resolved)))
            {
                broken.Add($"{target}: no file {resolved}");
            }
            else if (anchor is not null && !(resolved.EndsWith(".md", StringComparison.Ordinal) && Anchors(Repo.Read(resolved)).Contains(anchor)))
            {
                broken.Add($"{target}: no heading #{anchor} in {resolved}");
            }
        }

        Assert.True(broken.Count == 0, $"{page}: broken links:\n  {string.Join("\n  ", broken)}");
    }

    [Fact]
    public void TheReadmesDeploymentCommandsAreTheOnesItsGuidesWrite()
    {
        var readme = Repo.Read("README.md");
        var start = readme.IndexOf("\n## Deployment\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has a Deployment section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var commands = Fence().Matches(readme[start..end]).SelectMany(f => f.Groups[1].Value.Split('\n'))
            .Select(line => CommentAfterCommand().Replace(line, "").TrimEnd())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .ToList();
        Assert.True(commands.Count >= 20, $"{commands.Count} commands in the README's Deployment section");

        var guides = string.Join("\n", PagePaths().Where(p => p != "README.md").Select(Repo.Read));
        Assert.All(commands, command => Assert.Contains(command, guides, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("The launcher: `ramcoin [targets] [options]`", "the-launcher-ramcoin-targets-options")]
    [InlineData("With docker compose (DockerCoins' flow)", "with-docker-compose-dockercoins-flow")]
    [InlineData("CI/CD", "cicd")]
    [InlineData("Why not Garnet's `--aof-size-limit`", "why-not-garnets---aof-size-limit")]
    public void AnchorsAreGitHubs(string heading, string anchor) =>
        Assert.Contains(anchor, Anchors($"# Title\n\n## {heading}\n"));

    /// <summary>The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match heading in Heading().Matches(WithoutFences(markdown)))
        {
            var slug = NotInAnchor().Replace(heading.Groups[1].Value.Trim().ToLowerInvariant(), "").Replace(' ', '-');
            var unique = slug;
            for (var n = 1; !anchors.Add(unique); n++)
            {
                unique = $"{slug}-{n}";
            }
        }

        return anchors;
    }

    /// <summary>The text where links count: no code blocks, no inline code.</summary>
    private static string Prose(string markdown) => InlineCode().Replace(WithoutFences(markdown), "");

    private static string WithoutFences(string markdown) => Fence().Replace(markdown, "");

    [GeneratedRegex(@"!?\[[^\]]*\]\(([^)\s]+)\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^```[a-z]*\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Fence();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"^#{1,6} +(.+)$", RegexOptions.Multiline)]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^\p{L}\p{Nd} _-]")]
    private static partial Regex NotInAnchor();

    [GeneratedRegex(@" {2,}#.*$")]
    private static partial Regex CommentAfterCommand();
}
