using System.Globalization;
using System.Text;
using Orchflow.Config;
using Orchflow.Protocol;

namespace Orchflow.Server.Cli;

/// <summary>How the agent commands write an agent for a person: its state, figures, times and the question it waits on.</summary>
internal static class AgentFormat
{
    /// <summary>Succeeded, failed, stopped and interrupted: nothing more happens until a restart.</summary>
    internal static bool IsFinal(AgentState s) => s is AgentState.Succeeded or AgentState.Failed or AgentState.Stopped or AgentState.Interrupted;

    /// <summary>The state as the CLI says it, with how a run ended: "failed (exit 3)", "queued (#2)", "needs-input".</summary>
    internal static string State(AgentInfo a) => a.State switch
    {
        AgentState.Queued when a.QueuePosition is { } q => $"queued (#{q.ToString(CultureInfo.InvariantCulture)})",
        AgentState.Succeeded or AgentState.Failed when a.ExitCode is { } code => $"{Kebab(a.State)} (exit {code.ToString(CultureInfo.InvariantCulture)})",
        AgentState.Failed when a.Signal is { } signal => $"failed (signal {signal.ToString(CultureInfo.InvariantCulture)})",
        _ => Kebab(a.State),
    };

    /// <summary>Percent of one core, or "—" before the daemon has measured it (never an estimate).</summary>
    internal static string Cpu(double? percent) => percent is { } p ? p.ToString("0.0", CultureInfo.InvariantCulture) + "%" : "—";

    /// <summary>Bytes of RAM the agent's processes hold, or "—" before the daemon has measured them.</summary>
    internal static string Ram(long? bytes) => bytes is { } b ? ByteSize.Format(b) : "—";

    internal static string Truncate(string text, int max)
    {
        var line = OneLine(text);
        return line.Length <= max ? line : line[..(max - 1)] + "…";
    }

    /// <summary>Wire names in the CLI's spelling: needsInput → needs-input, builtIn → built-in.</summary>
    internal static string Kebab<T>(T value)
        where T : struct, Enum
    {
        var name = value.ToString();
        var sb = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                sb.Append('-');
            }

            sb.Append(char.ToLowerInvariant(name[i]));
        }

        return sb.ToString();
    }

    internal static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();

    internal static string Time(DateTimeOffset t) => t.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>While it needs input: the question its screen shows and the menu under it, numbered as `agent answer` takes them.</summary>
    internal static void PrintQuestion(AgentInfo a, Output output)
    {
        if (a.State != AgentState.NeedsInput || a.Question is null)
        {
            return;
        }

        output.Line($"{"question:",-15}{a.Question}");
        if (a.Choices is not { Count: > 0 } choices)
        {
            output.Line($"{"",-15}(no menu: type the answer with `orchflow agent send {a.Id} 'text\\r'`)");
            return;
        }

        output.Line("choices:");
        for (int i = 0; i < choices.Count; i++)
        {
            output.Line($"  {(i + 1).ToString(CultureInfo.InvariantCulture)}. {choices[i].Label}");
        }

        output.Line($"answer with:   orchflow agent answer {a.Id} N");
    }
}
