using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace RamCoin.Tests.Containers;

/// <summary>The Dockerfile read offline (no Docker engine here): what each image copies, runs and checks.</summary>
public sealed class DockerfileTests
{
    /// <summary>Each image's target and the project it publishes.</summary>
    public static readonly TheoryData<string, string> Services = new(ServiceProjects.ByService.Select(s => (s.Key, s.Value)));

    private static readonly Dockerfile File = Dockerfile.Parse(Repo.Read("Dockerfile"));
    private static readonly string[] BuildFiles = ["Directory.Build.props", "Directory.Build.targets", "src/Directory.Build.props", "src/Directory.Build.targets"];

    [Theory]
    [MemberData(nameof(Services))]
    public void EntryPointAndHealthCheckRunTheBinaryThePublishStepProduces(string target, string project)
    {
        var csproj = Project(project);
        Assert.Equal("Exe", Property(csproj, "OutputType"));
        Assert.Equal("true", Property(csproj, "PublishAot"));
        var binary = Property(csproj, "AssemblyName") ?? project;

        // The publish stage loops over the services and writes each to /out/<lower-case name>.
        var publish = Assert.Single(File["publish"].All("RUN"), r => r.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        var loop = Regex.Match(publish.Arguments, @"for service in ([^;]+);").Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(project["RamCoin.".Length..], loop);
        Assert.Contains("src/RamCoin.$service/RamCoin.$service.csproj", publish.Arguments, StringComparison.Ordinal);
        Assert.Contains("-o /out/$(echo $service | tr A-Z a-z)", publish.Arguments, StringComparison.Ordinal);

        var stage = File[target];
        var copy = Assert.Single(stage.All("COPY"), c => c.Flag("from") == "publish" && c.Words[0].EndsWith("/" + binary, StringComparison.Ordinal));
        Assert.Equal($"/out/{target}/{binary}", copy.Words[0]);
        Assert.Equal("/app/", copy.Words[^1]);
        Assert.Equal([$"/app/{binary}"], stage.Last("ENTRYPOINT")!.ExecForm);
        var health = stage.Last("HEALTHCHECK")!;
        Assert.Contains(" CMD [", health.Arguments, StringComparison.Ordinal);
        Assert.Equal([$"/app/{binary}", "healthcheck"], health.ExecForm);
    }

    [Theory]
    [MemberData(nameof(Services))]
    public void ServiceImagesRunAsNonRootOnChiseledRuntimeDepsOnPort80(string target, string project)
    {
        Assert.StartsWith("RamCoin.", project, StringComparison.Ordinal);
        var all = File.Effective(target);
        Assert.Equal("mcr.microsoft.com/dotnet/runtime-deps:${DOTNET_VERSION}-noble-chiseled", RootImage(target));
        var user = all.Last(i => i.Keyword == "USER").Arguments;
        Assert.Equal("$APP_UID", user);
        Assert.Contains(all, i => i.Keyword == "EXPOSE" && i.Arguments == "80");
        Assert.Contains(all, i => i.Keyword == "ENV" && i.Arguments.Contains("ASPNETCORE_HTTP_PORTS=80", StringComparison.Ordinal));
        Assert.Equal(80, ServiceDefaults.ContainerPort);
        // Port 80 where the runtime keeps it closed to non-root users: the binary gets NET_BIND_SERVICE as a file
        // capability in its own stage (a COPY of a file that has it loses it in the classic builder).
        Assert.Contains(all, i => i.Keyword == "RUN" && i.ExecForm is ["/tmp/grant-port-80", var file] && file == $"/app/{project}");
    }

    /// <summary>The project files the four services' publish needs: theirs and every project they reference, transitively.</summary>
    private static HashSet<string> ProjectsTheServicesNeed()
    {
        var needed = new HashSet<string>();
        var queue = new Queue<string>(Services.Select(s => $"src/{s.Data.Item2}/{s.Data.Item2}.csproj"));
        while (queue.TryDequeue(out var csproj))
        {
            if (needed.Add(csproj))
            {
                foreach (var reference in XDocument.Load(Repo.PathOf(csproj)).Descendants("ProjectReference"))
                {
                    var full = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Repo.PathOf(csproj))!, reference.Attribute("Include")!.Value.Replace('\\', '/')));
                    queue.Enqueue(Path.GetRelativePath(Repo.Root, full).Replace('\\', '/'));
                }
            }
        }

        // The shared libraries are found through the services' references.
        Assert.Contains("src/RamCoin.Hosting/RamCoin.Hosting.csproj", needed);
        Assert.Contains("src/RamCoin.StoreContract/RamCoin.StoreContract.csproj", needed);
        return needed;
    }

    [Fact]
    public void TheRestoreLayerCopiesEveryProjectFileTheServicesNeedAndNoSource()
    {
        var copied = File["restore"].All("COPY").SelectMany(c => c.Words.Take(c.Words.Count - 1)).ToHashSet();
        var needed = ProjectsTheServicesNeed();
        needed.UnionWith(["global.json", "Directory.Packages.props"]);
        // Every MSBuild file the service projects import (a missing src/Directory.Build.targets once dropped the Native
        // AOT feature switches from the images: their publish failed while the local one passed).
        needed.UnionWith(BuildFiles.Where(f => System.IO.File.Exists(Path.Combine(Repo.Root, f))));

        Assert.Subset(copied, needed);
        // Only project and build files: a source edit must not invalidate the restore layer.
        Assert.All(copied, c => Assert.Matches(@"(\.csproj|\.props|\.targets|\.json|\.editorconfig)$", c));
    }

    [Fact]
    public void ThePublishStageCopiesTheSourceOfEveryProjectTheServicesNeed()
    {
        var copied = File["publish"].All("COPY").Where(c => c.Flag("from") is null)
            .SelectMany(c => c.Words.Take(c.Words.Count - 1)).Select(w => w.TrimEnd('/')).ToHashSet();
        Assert.All(ProjectsTheServicesNeed(), csproj => Assert.Contains(Path.GetDirectoryName(csproj)!.Replace('\\', '/'), copied));
    }

    [Fact]
    public void EveryPathCopiedFromTheBuildContextExistsAndIsNotIgnored()
    {
        var sources = File.Stages.SelectMany(s => s.All("COPY").Concat(s.All("ADD")))
            .Where(c => c.Flag("from") is null)
            .SelectMany(c => c.Words.Take(c.Words.Count - 1))
            .ToList();

        Assert.NotEmpty(sources);
        Assert.All(sources, source =>
        {
            var path = source.TrimEnd('/');
            Assert.True(System.IO.File.Exists(Repo.PathOf(path)) || Directory.Exists(Repo.PathOf(path)), $"COPY {source}: no such file in the repository");
            Assert.False(Ignored(path), $"COPY {source}: .dockerignore leaves it out of the build context");
        });
    }

    [Fact]
    public void TheDockerIgnoreKeepsBuildOutputAndTestsOutOfTheContext()
    {
        foreach (var path in new[] { "src/RamCoin.Rng/bin", "src/RamCoin.Rng/obj/project.assets.json", "tests/RamCoin.Tests", ".git", "deploy/kubernetes/base/rng.yaml" })
        {
            Assert.True(Ignored(path), $"{path} is out of the build context");
        }
    }

    [Fact]
    public void TheStoreImageRunsTheStoresOwnProgramOnAVolume()
    {
        var store = File["store"];
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}-noble-chiseled", store.Base);
        // The store's own program, not the launcher: on the JIT (Garnet is not AOT-ready).
        var csproj = Project("RamCoin.Store");
        Assert.Equal("Exe", Property(csproj, "OutputType"));
        Assert.Null(Property(csproj, "PublishAot"));
        var publish = Assert.Single(File["publish-store"].All("RUN"), r => r.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.Contains("dotnet publish src/RamCoin.Store/RamCoin.Store.csproj ", publish.Arguments, StringComparison.Ordinal);
        Assert.Contains(store.All("COPY"), c => c.Flag("from") == "publish-store" && c.Words[0] == "/out/store/" && c.Words[^1] == "/app/");
        Assert.Equal(["dotnet", "/app/RamCoin.Store.dll"], store.Last("ENTRYPOINT")!.ExecForm);
        Assert.Null(store.Last("CMD"));
        Assert.Equal(["dotnet", "/app/RamCoin.Store.dll", "healthcheck"], store.Last("HEALTHCHECK")!.ExecForm);
        Assert.Equal("/data", store.Last("VOLUME")!.Arguments);
        Assert.Contains(store.All("ENV"), e => e.Arguments.Contains("RAMCOIN_DATA_DIR=/data", StringComparison.Ordinal));
        Assert.Contains(store.All("ENV"), e => e.Arguments.Contains("RAMCOIN_BIND=0.0.0.0", StringComparison.Ordinal));
        Assert.Equal("$APP_UID", store.Last("USER")!.Arguments);
        // The volume's folder belongs to the non-root user, or Garnet could not write its AOF.
        Assert.Contains(store.All("COPY"), c => c.Words[^1] == "/data/" && c.Flag("chown") == "$APP_UID:$APP_UID");
    }

    /// <summary>The folder the web UI serves from in its image; compose mounts the page's files there.</summary>
    public static string WebUIFilesFolder()
    {
        var env = File.Effective(ServiceNames.WebUI).Last(i => i.Keyword == "ENV" && i.Arguments.Contains("WEBUI_FILES=", StringComparison.Ordinal));
        var folder = Regex.Match(env.Arguments, @"WEBUI_FILES=(\S+)").Groups[1].Value;
        Assert.Contains(File[ServiceNames.WebUI].All("COPY"), c => c.Flag("from") == "publish" && c.Words[^1].TrimEnd('/') == folder);
        return folder;
    }

    [Fact]
    public void TheWebUIImageServesThePageFromTheFolderItCopies() => Assert.Equal("/app/webui", WebUIFilesFolder());

    /// <summary>The binary a target's image runs (its ENTRYPOINT).</summary>
    public static IReadOnlyList<string> EntryPoint(string target) => File[target].Last("ENTRYPOINT")!.ExecForm;

    private static string RootImage(string stage)
    {
        var s = File[stage];
        return File.Stages.Any(x => x.Name == s.Base) ? RootImage(s.Base) : s.Base;
    }

    private static XDocument Project(string name) => XDocument.Load(Repo.PathOf($"src/{name}/{name}.csproj"));

    private static string? Property(XDocument project, string name) => project.Descendants(name).LastOrDefault()?.Value;

    private static IEnumerable<string> Ancestors(string path)
    {
        var parts = path.Split('/');
        for (var i = 1; i <= parts.Length; i++)
        {
            yield return string.Join('/', parts.Take(i));
        }
    }

    /// <summary>A .dockerignore line as a regular expression over relative paths (** any folders, * within one).</summary>
    /// <summary>Docker's rule: the last line of .dockerignore that matches the path or a folder above it decides; a line
    /// that starts with ! brings it back.</summary>
    private static bool Ignored(string path)
    {
        var ignored = false;
        foreach (var line in Repo.Read(".dockerignore").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var exception = line.StartsWith('!');
            if (Ancestors(path).Any(IgnorePattern(exception ? line[1..] : line).IsMatch))
            {
                ignored = !exception;
            }
        }

        return ignored;
    }

    private static Regex IgnorePattern(string line)
    {
        var pattern = Regex.Escape(line.TrimEnd('/')).Replace(@"\*\*/", "(.*/)?", StringComparison.Ordinal).Replace(@"\*", "[^/]*", StringComparison.Ordinal);
        return new Regex("^" + pattern + "$");
    }
}
