namespace Orchflow.Config.Tests;

/// <summary>The loaders promise never to throw for bad input; mangled versions of valid files probe that.</summary>
[Trait("Tier", "unit")]
public sealed class RobustnessTests
{
    private const string Alphabet = "{}[]\",:=.#\n \\'0123456789aeiouxyz_-/é☕\u0000\t";

    [Fact]
    public void MangledWorkspaceFilesNeverThrow() => Mangle(SpecExamples.WorkspaceJson, text =>
    {
        var result = WorkspaceConfigLoader.Parse(text, "w.json");
        AssertWellFormed(result.Diagnostics, result.Value is null, text);
    });

    [Fact]
    public void MangledGlobalFilesNeverThrow() => Mangle(SpecExamples.GlobalToml + "\n[agents.types.a]\ncommand = \"a {task}\"\nenv = { K = \"v\" }\n", text =>
    {
        var result = GlobalConfigLoader.Parse(text, "g.toml");
        AssertWellFormed(result.Diagnostics, result.Value is null, text);
    });

    private static void Mangle(string valid, Action<string> check)
    {
        var random = new Random(20240611);
        for (int round = 0; round < 3000; round++)
        {
            var chars = valid.ToList();
            for (int edits = random.Next(1, 4); edits > 0; edits--)
            {
                int at = random.Next(chars.Count);
                switch (random.Next(3))
                {
                    case 0:
                        chars.RemoveAt(at);
                        break;
                    case 1:
                        chars.Insert(at, Alphabet[random.Next(Alphabet.Length)]);
                        break;
                    default:
                        chars[at] = Alphabet[random.Next(Alphabet.Length)];
                        break;
                }
            }

            check(new string([.. chars]));
        }
    }

    private static void AssertWellFormed(IReadOnlyList<ConfigDiagnostic> diagnostics, bool noValue, string text)
    {
        int lines = text.Split('\n').Length;
        foreach (var d in diagnostics)
        {
            Assert.True(d.Line >= 1 && d.Line <= lines + 1 && d.Column >= 1, $"bad position {d} for:\n{text}");
        }

        Assert.Equal(diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error), noValue);
    }
}
