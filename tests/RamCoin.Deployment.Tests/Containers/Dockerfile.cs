using System.Text.RegularExpressions;

namespace RamCoin.Tests.Containers;

/// <summary>Just enough of a Dockerfile parser to check ours offline: stages, their instructions, continuations joined.</summary>
public sealed partial record Dockerfile(IReadOnlyList<Dockerfile.Stage> Stages)
{
    public sealed record Instruction(string Keyword, string Arguments)
    {
        /// <summary>The words of a shell-form instruction, without its <c>--flag=value</c> options.</summary>
        public IReadOnlyList<string> Words => [.. Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith("--", StringComparison.Ordinal))];

        public string? Flag(string name) =>
            Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .FirstOrDefault(w => w.StartsWith($"--{name}=", StringComparison.Ordinal))?[(name.Length + 3)..];

        /// <summary>The JSON array of an exec-form instruction (<c>ENTRYPOINT ["/app/x"]</c>), after any options.</summary>
        public IReadOnlyList<string> ExecForm
        {
            get
            {
                var start = Arguments.IndexOf('[', StringComparison.Ordinal);
                Assert.True(start >= 0, $"{Keyword} {Arguments} is not in exec form");
                return JsonSerializer.Deserialize<string[]>(Arguments[start..])!;
            }
        }
    }

    public sealed record Stage(string Name, string Base, IReadOnlyList<Instruction> Instructions)
    {
        public IEnumerable<Instruction> All(string keyword) => Instructions.Where(i => i.Keyword == keyword);

        public Instruction? Last(string keyword) => All(keyword).LastOrDefault();
    }

    public Stage this[string name] => Stages.SingleOrDefault(s => s.Name == name) ?? throw new KeyNotFoundException($"no stage '{name}' in the Dockerfile");

    /// <summary>A stage with everything it inherits from earlier stages it is built FROM.</summary>
    public IReadOnlyList<Instruction> Effective(string name)
    {
        var stage = this[name];
        var inherited = Stages.Any(s => s.Name == stage.Base) ? Effective(stage.Base) : [];
        return [.. inherited, .. stage.Instructions];
    }

    public static Dockerfile Parse(string text)
    {
        var stages = new List<Stage>();
        string? name = null, image = null;
        var instructions = new List<Instruction>();
        var logical = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                logical += line[..^1] + " ";
                continue;
            }

            logical += line;
            var match = InstructionPattern().Match(logical);
            logical = "";
            if (!match.Success)
            {
                continue;
            }

            var keyword = match.Groups[1].Value.ToUpperInvariant();
            var arguments = Regex.Replace(match.Groups[2].Value.Trim(), @"\s+", " ");
            if (keyword == "FROM")
            {
                if (name is not null)
                {
                    stages.Add(new Stage(name, image!, instructions));
                }

                var words = arguments.Split(' ').Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToArray();
                image = words[0];
                name = words.Length >= 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : $"stage{stages.Count}";
                instructions = [];
            }
            else if (name is not null)
            {
                instructions.Add(new Instruction(keyword, arguments));
            }
        }

        if (name is not null)
        {
            stages.Add(new Stage(name, image!, instructions));
        }

        return new Dockerfile(stages);
    }

    [GeneratedRegex(@"^\s*([A-Za-z]+)\s+(.*)$")]
    private static partial Regex InstructionPattern();
}
