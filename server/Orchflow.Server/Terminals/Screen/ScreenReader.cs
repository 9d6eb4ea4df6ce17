using System.Text;
using System.Text.RegularExpressions;
using Orchflow.Protocol;

namespace Orchflow.Server.Terminals.Screen;

/// <summary>What a screen says about the program drawing it.</summary>
/// <param name="Working">A working indicator is visible (a spinner, "esc to interrupt", an elapsed-seconds counter): it is busy, whatever else is drawn.</param>
/// <param name="Question">A question it waits on, when one is visible and it is not working.</param>
/// <param name="Choices">The menu under the question, when there is one.</param>
/// <param name="Pattern">Which rule recognised the question (for the event log).</param>
/// <param name="PromptLine">The text left of the cursor when it looks like an input prompt (the program idles at its prompt).</param>
/// <param name="Summary">The line to show as the agent's latest: the question, or the last line of content above footers and prompt.</param>
public sealed record ScreenVerdict(bool Working, string? Question, IReadOnlyList<AgentChoice>? Choices, string? Pattern, string? PromptLine, string? Summary)
{
    /// <summary>Identifies a question and its menu, whatever item is selected: the same dialog redrawn is not a new one.</summary>
    public string? Key => Question is null ? null : Question + "\u0001" + string.Join('\u0001', (Choices ?? []).Select(c => c.Label));
}

/// <summary>
/// Reads an agent TUI's screen the way a person does: a question anywhere on it, the menu under it, and the footers
/// (<c>Esc to cancel · Tab to amend</c>, <c>? for shortcuts</c>, status lines) and working indicators (braille or star
/// spinners, <c>esc to interrupt</c>, elapsed-seconds counters) that surround it. A working indicator always wins: a
/// program that shows one is busy, not waiting.
/// </summary>
/// <remarks>
/// The patterns are grouped by vendor (Claude Code, Codex CLI, Gemini CLI) for their trust dialogs, tool and command
/// approvals, edit confirmations and plan approvals, plus the numbered menus all three draw (<c>❯ 1. Yes</c>,
/// <c>2. Yes, and don't ask again</c>, <c>3. No</c>). A menu counts only with a selection marker or a highlighted
/// (inverse) item, so a numbered list in the model's answer is not taken for one. Every vendor's rules are tried on
/// every screen: a custom agent type may run any of these CLIs.
/// </remarks>
public static partial class ScreenReader
{
    /// <summary>Vendor question rules: the vendor, the dialog, and a pattern matched against one visible line.</summary>
    public static readonly IReadOnlyList<(string Vendor, string Dialog, Regex Pattern)> Questions =
    [
        ("claude", "trust", new Regex(@"(?i)\bIs this a project you created or one you trust\?", RegexOptions.CultureInvariant)),
        ("claude/gemini", "trust", new Regex(@"(?i)\bDo you trust the files in this folder\?", RegexOptions.CultureInvariant)),
        ("claude", "approval", new Regex(@"(?i)\bDo you want to (proceed|allow|run|make this edit|create|overwrite|delete)\b.*\?", RegexOptions.CultureInvariant)),
        ("claude", "plan", new Regex(@"(?i)\bWould you like to proceed\?", RegexOptions.CultureInvariant)),
        ("codex", "trust", new Regex(@"(?i)\bDo you trust the contents of this directory\?", RegexOptions.CultureInvariant)),
        ("codex", "approval", new Regex(@"(?i)\bAllow command\?|\bWould you like to run the following command\?|\bWould you like to make the following edits\?|\bAllow Codex to\b.*\?", RegexOptions.CultureInvariant)),
        ("gemini", "trust", new Regex(@"(?i)\bDo you trust this folder\?", RegexOptions.CultureInvariant)),
        ("gemini", "approval", new Regex(@"(?i)\bAllow execution of\b|\bApply this change\?|\bAllow (this )?MCP tool\b|\bWaiting for user confirmation\b", RegexOptions.CultureInvariant)),
        ("any", "yes/no", new Regex(@"(?i)[\[(](y/n|yes/no)[\])]\s*\??\s*$", RegexOptions.CultureInvariant)),
    ];

    /// <summary>Reads a snapshot. Pure: the same screen gives the same verdict.</summary>
    public static ScreenVerdict Read(ScreenSnapshot screen)
    {
        var lines = new string[screen.Lines.Count];
        for (int i = 0; i < lines.Length; i++)
        {
            lines[i] = Content(screen.Lines[i].Text);
        }

        // The cursor line is the prompt's; read up to the cursor.
        string? prompt = null;
        if (screen.CursorRow < screen.Lines.Count)
        {
            var raw = screen.Lines[screen.CursorRow].Text;
            var left = Content(Left(raw, screen.CursorColumn));
            if (left.Length > 0 && left.Length <= 8 && NeedsInputDetectorPrompt(left))
            {
                prompt = left;
            }
        }

        // Ink and ratatui park the cursor elsewhere: an input field drawn near the bottom counts too.
        for (int i = lines.Length - 1, seen = 0; prompt is null && i >= 0 && seen < 8; i--)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }

            seen++;
            if (InputField().IsMatch(lines[i]) && !Item().IsMatch(lines[i]))
            {
                prompt = lines[i];
            }
        }

        foreach (var line in lines)
        {
            if (line.Length > 0 && IsWorking(line))
            {
                return new ScreenVerdict(true, null, null, null, null, LastContent(lines, screen.CursorRow));
            }
        }

        var indent = Indents(screen);
        var menu = FindMenu(screen, lines, indent);
        string? question = null, pattern = null;
        int questionRow = -1;

        // A vendor's question, bottom-up: the live part of an inline TUI is at the bottom.
        for (int i = lines.Length - 1; i >= 0 && question is null; i--)
        {
            if (lines[i].Length == 0 || Item().IsMatch(lines[i]))
            {
                continue;
            }

            foreach (var (vendor, dialog, regex) in Questions)
            {
                if (regex.Match(lines[i]) is { Success: true } match)
                {
                    int mark = lines[i].IndexOf('?', match.Index);
                    question = mark >= 0 ? Sentence(lines, indent, i, mark) : lines[i];
                    pattern = $"{vendor} {dialog}";
                    questionRow = i;
                    break;
                }
            }
        }

        if (menu is { } m && (question is null || questionRow >= m.FirstRow))
        {
            // The menu's own question: the nearest line above it that asks, else the paragraph just above it.
            var (above, row) = QuestionAbove(lines, indent, m.FirstRow);
            if (above is not null)
            {
                (question, questionRow, pattern) = (above, row, "menu");
            }
        }

        if (question is null)
        {
            return new ScreenVerdict(false, null, null, null, prompt, LastContent(lines, screen.CursorRow));
        }

        return new ScreenVerdict(false, Shorten(question), menu?.Choices, pattern, null, Shorten(question));
    }

    /// <summary>A line without the borders of the boxes TUIs draw around dialogs and input fields.</summary>
    public static string Content(string line)
    {
        var s = line.AsSpan().Trim();
        s = s.Trim(" │┃║|╭╮╰╯┌┐└┘╔╗╚╝".AsSpan());
        if (s.Length > 0 && IsRule(s))
        {
            return "";
        }

        return s.Trim().ToString();
    }

    private static bool IsRule(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
        {
            if (c is not ('─' or '━' or '═' or '-' or '╌' or '┄' or '▔' or '▁' or ' '))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsWorking(string line)
    {
        if (NotWorking().IsMatch(line))
        {
            return false;
        }

        return Spinner().IsMatch(line) || Interrupt().IsMatch(line) || Elapsed().IsMatch(line);
    }

    private static bool NeedsInputDetectorPrompt(string left)
    {
        var t = left.TrimEnd();
        return t.Length > 0 && t[^1] is '>' or '❯' or '›' or '$' or ':' or '?';
    }

    private static string Left(string text, int column)
    {
        // Columns count double-width characters twice; text has them once. Walk the text by width.
        int width = 0, i = 0;
        while (i < text.Length && width < column)
        {
            int cp = char.IsSurrogatePair(text, i) ? char.ConvertToUtf32(text[i], text[i + 1]) : text[i];
            width += CharWidth.Of(cp);
            i += cp > 0xFFFF ? 2 : 1;
        }

        return text[..i];
    }

    private sealed record Menu(int FirstRow, int LastRow, IReadOnlyList<AgentChoice> Choices);

    /// <summary>
    /// The bottom-most live menu: numbered items 1, 2, 3 ... in a run, or marker-selected unnumbered items. A label the
    /// program wrapped onto lines of its own (indented deeper than the items) is joined back.
    /// </summary>
    private static Menu? FindMenu(ScreenSnapshot screen, string[] lines, int[] indent)
    {
        for (int end = lines.Length - 1; end >= 0; end--)
        {
            var item = Item().Match(lines[end]);
            if (!item.Success)
            {
                continue;
            }

            // Walk up to item 1 of this run: blank lines between items are allowed, and deeper-indented continuation lines.
            var rows = new List<int> { end };
            var continued = new Dictionary<int, List<string>>();
            var pending = new List<string>();
            int expected = Number(item) - 1;
            for (int i = end - 1; i >= 0 && expected >= 1; i--)
            {
                if (lines[i].Length == 0)
                {
                    continue;
                }

                var up = Item().Match(lines[i]);
                if (!up.Success)
                {
                    if (pending.Count < 3 && indent[i] > indent[rows[0]])
                    {
                        pending.Insert(0, lines[i]);
                        continue;
                    }

                    break;
                }

                if (Number(up) != expected)
                {
                    break;
                }

                rows.Insert(0, i);
                continued[i] = pending;
                pending = [];
                expected--;
            }

            if (expected != 0 || rows.Count < 2)
            {
                end = rows[0];
                continue;
            }

            // The last item's own continuation lines follow it.
            var tail = new List<string>();
            for (int j = end + 1; j < lines.Length && tail.Count < 3 && lines[j].Length > 0 && !Item().IsMatch(lines[j]) && indent[j] > indent[end]; j++)
            {
                tail.Add(lines[j]);
            }

            continued[end] = tail;
            int selected = -1;
            var choices = new List<AgentChoice>(rows.Count);
            for (int k = 0; k < rows.Count; k++)
            {
                var m = Item().Match(lines[rows[k]]);
                if (m.Groups["mark"].Success || screen.Lines[rows[k]].Highlighted)
                {
                    selected = selected == -1 ? k : -2;
                }

                var label = string.Join(' ', continued.GetValueOrDefault(rows[k], []).Prepend(m.Groups["label"].Value.Trim()));
                choices.Add(new AgentChoice { Label = label, Keys = m.Groups["n"].Value });
            }

            if (selected >= 0)
            {
                // A digit moves the marker in some menus and picks at once in others: where the footer says Enter
                // confirms ("enter continue", "Press enter to confirm": Codex CLI), Enter follows the digit.
                if (EnterConfirms(lines, end))
                {
                    choices = [.. choices.Select(c => c with { Keys = c.Keys + "\r" })];
                }

                return new Menu(rows[0], rows[^1], choices);
            }

            end = rows[0];
        }

        return UnnumberedMenu(screen, lines);
    }

    /// <summary>Whether one of the few lines under a menu's last item is a footer that says Enter confirms the choice.</summary>
    private static bool EnterConfirms(string[] lines, int lastRow)
    {
        for (int j = lastRow + 1; j < lines.Length && j <= lastRow + 4; j++)
        {
            if (EnterFooter().IsMatch(lines[j]))
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex(@"(?i)\benter\s+(to\s+)?(continue|confirm|select)\b|\bpress\s+enter\b")]
    private static partial Regex EnterFooter();

    /// <summary>Where each line's text starts: after its leading blanks, or after the blanks that follow a box's left border.</summary>
    private static int[] Indents(ScreenSnapshot screen)
    {
        var indent = new int[screen.Lines.Count];
        for (int i = 0; i < indent.Length; i++)
        {
            var text = screen.Lines[i].Text;
            int lead = text.Length - text.AsSpan().TrimStart().Length;
            var afterBorder = text.AsSpan(lead);
            if (afterBorder.Length > 0 && afterBorder[0] is '│' or '┃' or '║' or '|')
            {
                afterBorder = afterBorder[1..];
                indent[i] = afterBorder.Length - afterBorder.TrimStart().Length;
            }
            else
            {
                indent[i] = lead;
            }
        }

        return indent;
    }

    private static int Number(Match item) => item.Groups["n"].ValueSpan[0] - '0';

    /// <summary>A marker (❯ or ›) before one of several lines aligned under each other: picked with arrows and Enter.</summary>
    private static Menu? UnnumberedMenu(ScreenSnapshot screen, string[] lines)
    {
        for (int row = lines.Length - 1; row >= 0; row--)
        {
            var raw = screen.Lines[row].Text;
            var m = Marked().Match(raw);
            if (!m.Success)
            {
                continue;
            }

            int column = m.Groups["label"].Index;
            int first = row, last = row;
            while (first > 0 && Aligned(screen.Lines[first - 1].Text, column))
            {
                first--;
            }

            while (last < lines.Length - 1 && Aligned(screen.Lines[last + 1].Text, column))
            {
                last++;
            }

            if (last - first < 1 || last - first > 8)
            {
                continue;
            }

            string down = screen.ApplicationCursorKeys ? "\u001bOB" : "\u001b[B", up = screen.ApplicationCursorKeys ? "\u001bOA" : "\u001b[A";
            var choices = new List<AgentChoice>();
            for (int i = first; i <= last; i++)
            {
                var label = screen.Lines[i].Text[column..].Trim();
                int steps = i - row;
                var keys = new StringBuilder();
                for (int s = 0; s < Math.Abs(steps); s++)
                {
                    keys.Append(steps > 0 ? down : up);
                }

                choices.Add(new AgentChoice { Label = label, Keys = keys.Append('\r').ToString() });
            }

            return new Menu(first, last, choices);
        }

        return null;
    }

    private static bool Aligned(string raw, int column) =>
        raw.Length > column && raw[column] != ' ' && raw.AsSpan(0, column).Trim(" │┃║|".AsSpan()).IsEmpty;

    private static (string? Question, int Row) QuestionAbove(string[] lines, int[] indent, int firstRow)
    {
        for (int i = firstRow - 1; i >= Math.Max(0, firstRow - 15); i--)
        {
            int mark = lines[i].LastIndexOf('?');
            if (mark > 0 && lines[i].Any(char.IsLetter))
            {
                return (Sentence(lines, indent, i, mark), i);
            }
        }

        // No line asks: the paragraph just above the menu says what it is about (Codex's folder trust).
        var paragraph = new List<string>();
        for (int i = firstRow - 1; i >= Math.Max(0, firstRow - 8); i--)
        {
            if (lines[i].Length == 0)
            {
                if (paragraph.Count > 0)
                {
                    break;
                }

                continue;
            }

            paragraph.Insert(0, lines[i]);
        }

        return paragraph.Count == 0 ? (null, -1) : (string.Join(' ', paragraph), firstRow - 1);
    }

    /// <summary>
    /// The sentence that ends at the question mark at <paramref name="mark"/> of line <paramref name="row"/>: its
    /// paragraph's lines above (same indentation, no blank between) are joined (TUIs wrap text themselves), and what precedes the sentence ("Quick safety
    /// check: Is this ...?") is cut at the last sentence end, or at a colon followed by a capital.
    /// </summary>
    private static string Sentence(string[] lines, int[] indent, int row, int mark)
    {
        int start = row;
        while (start > 0 && row - start < 4 && lines[start - 1].Length > 0 && indent[start - 1] == indent[row] && !Item().IsMatch(lines[start - 1]))
        {
            start--;
        }

        var text = string.Join(' ', lines[start..row].Append(lines[row][..(mark + 1)]));
        int cut = -1;
        for (int k = text.Length - 2; k > 0; k--)
        {
            if (text[k] == ' ' && (text[k - 1] is '.' or '!' or '?' || (text[k - 1] == ':' && k + 1 < text.Length && char.IsUpper(text[k + 1]))))
            {
                cut = k + 1;
                break;
            }
        }

        return cut > 0 ? text[cut..] : text;
    }

    private static string? LastContent(string[] lines, int cursorRow)
    {
        for (int i = lines.Length - 1; i >= 0; i--)
        {
            if (i == cursorRow || lines[i].Length == 0 || Footer().IsMatch(lines[i]))
            {
                continue;
            }

            return Shorten(lines[i]);
        }

        return null;
    }

    private static string Shorten(string s) => s.Length <= 240 ? s : s[..239] + "…";

    // A spinner glyph first (braille, or Claude's stars), then a word: "⠋ Thinking...", "✻ Pondering… (3s)".
    [GeneratedRegex(@"^(?:[\u2800-\u28FF]|[·✢✳✶✻✽*]\s+\S+(?:…|\.\.\.))\s*\S")]
    private static partial Regex Spinner();

    [GeneratedRegex(@"(?i)\b(esc|ctrl\+c) to interrupt\b")]
    private static partial Regex Interrupt();

    // "(12s)", "(esc to cancel, 12s)", "(1m 3s · ↑ 2.1k tokens", "• Working (4s •": a counter that ticks while it works.
    [GeneratedRegex(@"\((?:[^()]*,\s*)?(?:\d+m\s*)?\d+s(?:\s*[·•,)]|\s*$)")]
    private static partial Regex Elapsed();

    [GeneratedRegex(@"(?i)waiting for (user )?(confirmation|approval|input)")]
    private static partial Regex NotWorking();

    // "❯ 1. Yes", "  2. Yes, and don't ask again", "● 1. Allow once", "› 1. Yes, proceed (y)".
    [GeneratedRegex(@"^(?:(?<mark>[❯›>▶►→●◉])\s*|[○◯◦]\s*)?(?<n>[1-9])[.)]\s+(?<label>\S.*)$")]
    private static partial Regex Item();

    // An input field: "> ", "› Ask Codex to do anything", ">   Type your message".
    [GeneratedRegex(@"^[>›❯](\s|$)")]
    private static partial Regex InputField();

    [GeneratedRegex(@"^[\s│┃║|]*[❯›]\s+(?<label>\S.*)$")]
    private static partial Regex Marked();

    [GeneratedRegex(@"(?i)\? for shortcuts|\besc to\b|\btab to\b|\bctrl\+|\bshift\+tab\b|\benter to\b|⏎|\bpress enter\b|\baccept edits\b|\bcontext left\b")]
    private static partial Regex Footer();
}
