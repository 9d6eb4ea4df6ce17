using System.Globalization;
using System.Text;
using Orchflow.Protocol;

namespace Orchflow.Server.Agents;

/// <summary>
/// Which choice of a menu an answer names, the way a person names it: its number as listed (1 for the first), or its
/// label, ignoring case and runs of whitespace, the whole label first and then a start of it that fits one choice only.
/// Pure, so the rules are tested on their own; an answer that names none or several is refused with the list, never guessed.
/// </summary>
public static class AgentChoices
{
    /// <summary>The choice <paramref name="answer"/> names, with its number (1-based).</summary>
    /// <param name="agentId">For the hints: the command to run instead.</param>
    /// <exception cref="OrchflowException">InvalidArgument when the answer is empty, out of range, names no choice, or could be several.</exception>
    public static (int Number, AgentChoice Choice) Resolve(IReadOnlyList<AgentChoice> choices, string answer, string agentId)
    {
        var wanted = Normalize(answer);
        if (wanted.Length == 0)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "The choice is empty.", $"Answer with a number from 1 to {choices.Count} or the start of a label, for example `orchflow agent answer {agentId} 1`.");
        }

        if (int.TryParse(wanted, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return number >= 1 && number <= choices.Count
                ? (number, choices[number - 1])
                : throw new OrchflowException(ErrorCodes.InvalidArgument, $"There is no choice {wanted}: the choices are {List(choices)}.", NumberHint(choices, agentId));
        }

        var labels = choices.Select(c => Normalize(c.Label)).ToList();
        var exact = Matching(labels, l => string.Equals(l, wanted, StringComparison.OrdinalIgnoreCase));
        var fits = exact.Count > 0 ? exact : Matching(labels, l => l.StartsWith(wanted, StringComparison.OrdinalIgnoreCase));
        return fits.Count switch
        {
            1 => (fits[0] + 1, choices[fits[0]]),
            0 => throw new OrchflowException(ErrorCodes.InvalidArgument, $"No choice matches '{answer.Trim()}': the choices are {List(choices)}.", NumberHint(choices, agentId)),
            _ => throw new OrchflowException(ErrorCodes.InvalidArgument,
                $"'{answer.Trim()}' fits several choices: {string.Join(", ", fits.Select(i => $"{i + 1}. {choices[i].Label}"))}.",
                $"Give more of the label, or its number, for example `orchflow agent answer {agentId} {fits[0] + 1}`."),
        };
    }

    /// <summary>Text as compared: trimmed, every run of whitespace one space (a TUI wraps and pads labels and questions).</summary>
    public static string Normalize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "";
        }

        var sb = new StringBuilder(text.Length);
        bool space = false;
        foreach (var c in text.AsSpan().Trim())
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }

            if (space)
            {
                sb.Append(' ');
                space = false;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    /// <summary>"1. Yes, 2. No": the choices as <c>orchflow agent show</c> numbers them.</summary>
    public static string List(IReadOnlyList<AgentChoice> choices) =>
        string.Join(", ", choices.Select((c, i) => $"{(i + 1).ToString(CultureInfo.InvariantCulture)}. {c.Label}"));

    private static List<int> Matching(List<string> labels, Func<string, bool> match) =>
        labels.Select((l, i) => (l, i)).Where(x => match(x.l)).Select(x => x.i).ToList();

    private static string NumberHint(IReadOnlyList<AgentChoice> choices, string agentId) =>
        $"Answer with a number from 1 to {choices.Count.ToString(CultureInfo.InvariantCulture)} or the start of a label, for example `orchflow agent answer {agentId} 1`.";
}
