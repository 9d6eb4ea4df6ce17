using System.Text;
using System.Text.RegularExpressions;
using Orchflow.Protocol;
using Orchflow.Server.Terminals;
using Orchflow.Server.Terminals.Screen;

namespace Orchflow.Server.Agents;

/// <summary>What the detector concluded from the output so far.</summary>
/// <param name="HasOutput">The agent has printed something in this run.</param>
/// <param name="LastLine">The last non-empty line, as plain text.</param>
/// <param name="NeedsInput">Newly found waiting for input (reported once per output position).</param>
/// <param name="Reason">Why: "matched pattern ..." or "quiet at a prompt".</param>
/// <param name="DoneLine">A line of the new output that matched a done pattern.</param>
/// <param name="Question">With <paramref name="NeedsInput"/>: the question its screen shows, when one was recognised.</param>
/// <param name="Choices">With <paramref name="Question"/>: the menu under it.</param>
/// <param name="Resumed">The question it was reported waiting on has gone from its screen (it was answered in a way that is not input through Orchflow, or it moved on).</param>
public readonly record struct DetectorResult(bool HasOutput, string? LastLine, bool NeedsInput, string? Reason, string? DoneLine, string? Question = null, IReadOnlyList<AgentChoice>? Choices = null, bool Resumed = false);

/// <summary>
/// Decides from an agent's output whether it waits for input, in two ways:
/// the type's needs-input patterns match the last non-empty line of plain text, or the output has been quiet for
/// <see cref="QuietPeriod"/> and that line looks like a prompt (ends with <c>? : &gt; ] $ ❯ ›</c>, or offers [y/n]).
/// It also watches for the type's done patterns on every new line.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Append"/> runs under the terminal's lock for every chunk of output, so it only appends; the regular
/// expressions run in <see cref="Evaluate"/>, which the agent service calls on its own tick (every
/// <see cref="AgentDetection.DetectInterval"/>), at most once per tick whatever the output rate.
/// </para>
/// <para>
/// After input the detector is disarmed, so the prompt just answered (still the last line, or echoed with the answer)
/// is not reported again. It re-arms once a new non-empty line follows a line break, or after
/// <see cref="RearmChars"/> characters of output (a full-screen UI redraws without line breaks).
/// Waiting is cleared only by input, never by more output: a UI that animates while it waits would otherwise flicker.
/// </para>
/// <para>
/// A program that draws a screen (it moves the cursor up or to absolute positions, or uses the alternate screen) is
/// judged on its screen instead, once <see cref="AttachScreen"/> has given the terminal's <see cref="ScreenFeed"/>:
/// <see cref="ScreenReader"/> finds a question anywhere on it, with its menu, past footers and status lines, and a
/// working indicator (spinner, "esc to interrupt", an elapsed counter) means it is not waiting. A question is reported
/// once the screen has settled (<see cref="SettlePeriod"/> without output, or <see cref="SettleLimit"/> of the same
/// question), once per question; the same question again after input only when the program redrew it and went quiet.
/// Such a wait ends by input or when the question leaves the screen. Line-oriented programs keep the line rules.
/// </para>
/// </remarks>
public sealed partial class NeedsInputDetector
{
    /// <summary>
    /// How long output must pause at a prompt-like line to count as waiting. Long enough that a program printing steadily
    /// (a build, a test run) is not taken for waiting between two lines; short enough to report well within a second.
    /// </summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromMilliseconds(400);

    /// <summary>How much of the newest output the last line is taken from.</summary>
    public const int TailChars = 4096;

    /// <summary>At most this much output between two evaluations is searched for done patterns (the newest part).</summary>
    public const int PendingChars = 64 * 1024;

    /// <summary>Output after input that re-arms detection even without a line break.</summary>
    public const int RearmChars = 512;

    /// <summary>Longest last line kept for display.</summary>
    public const int MaxLastLineChars = 240;

    /// <summary>Output pause after which a question on the screen is taken as drawn (its menu complete).</summary>
    public static readonly TimeSpan SettlePeriod = TimeSpan.FromMilliseconds(50);

    /// <summary>A question that stays on a screen that keeps changing (an animation elsewhere) counts after this long.</summary>
    public static readonly TimeSpan SettleLimit = TimeSpan.FromMilliseconds(300);

    /// <summary>For a screen-drawing program, the type's needs-input patterns are tried on this many non-empty lines from the bottom (its live area).</summary>
    public const int ScreenPatternLines = 8;

    private readonly object _gate = new();
    private readonly object _evaluating = new();
    private readonly IReadOnlyList<Regex> _needsInput;
    private readonly IReadOnlyList<Regex> _done;
    private readonly TimeProvider _time;
    private readonly StringBuilder _tail = new();
    private readonly StringBuilder _pending = new();
    private readonly StringBuilder _sinceInput = new();
    private long _total;
    private long _inputEpoch;

    // Owned by Evaluate (under _evaluating).
    private long _evaluatedTotal;
    private string? _lastLine;

    // Under _gate.
    private long _flaggedTotal = -1;
    private long _lastOutputAt;
    private bool _armed = true;
    private ScreenFeed? _screen;
    private string? _screenFlaggedKey;
    private string? _screenCandidateKey;
    private long _screenCandidateSince;
    private bool _screenWaiting;
    private bool _screenAnswered;
    private long _totalAtInput;

    public NeedsInputDetector(IReadOnlyList<Regex> needsInputPatterns, IReadOnlyList<Regex> donePatterns, TimeProvider? time = null)
    {
        _needsInput = needsInputPatterns;
        _done = donePatterns;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The screen of the terminal this detector watches: from now on a screen-drawing program is judged on it.</summary>
    public void AttachScreen(ScreenFeed screen) => Volatile.Write(ref _screen, screen);

    /// <summary>Takes a chunk of output. Cheap: called under the terminal's lock.</summary>
    public void Append(string text)
    {
        lock (_gate)
        {
            AppendCapped(_tail, text, TailChars);
            if (_done.Count > 0)
            {
                AppendCapped(_pending, text, PendingChars);
            }

            if (!_armed)
            {
                AppendCapped(_sinceInput, text, RearmChars * 2);
            }

            _total += text.Length;
            _lastOutputAt = _time.GetTimestamp();
        }
    }

    /// <summary>Input reached the agent: what it was waiting for has been answered.</summary>
    public void InputGiven()
    {
        lock (_gate)
        {
            _armed = false;
            _inputEpoch++;
            _sinceInput.Clear();
            _flaggedTotal = -1;
            _screenAnswered = true;
            _screenWaiting = false;
            _totalAtInput = _total;
        }
    }

    /// <summary>
    /// Looks at the output since the last call. The text is copied under the lock and examined outside it, so the
    /// terminal's reader is never held up by a regular expression.
    /// </summary>
    /// <param name="final">The run has ended: an unfinished last line is searched for done patterns too.</param>
    public DetectorResult Evaluate(bool final = false)
    {
        lock (_evaluating)
        {
            string? tail = null, pending = null, sinceInput = null;
            long total, lastOutputAt, epoch;
            lock (_gate)
            {
                total = _total;
                lastOutputAt = _lastOutputAt;
                epoch = _inputEpoch;
                if (total != _evaluatedTotal)
                {
                    tail = _tail.ToString();
                    if (!_armed)
                    {
                        sinceInput = _sinceInput.ToString();
                    }
                }

                if (_pending.Length > 0)
                {
                    // Done patterns see whole lines: an unfinished last line waits for the rest of it, unless the run
                    // ended, output went quiet, or the line is too long to be one an agent prints as a verdict.
                    var text = _pending.ToString();
                    int lineStart = text.LastIndexOf('\n') + 1;
                    bool whole = final || text.Length - lineStart > TailChars || _time.GetElapsedTime(lastOutputAt) >= QuietPeriod;
                    int cut = whole ? text.Length : lineStart;
                    if (cut > 0)
                    {
                        pending = text[..cut];
                        _pending.Remove(0, cut);
                    }
                }
            }

            string? doneLine = pending is null ? null : FirstMatchingLine(PlainText.From(pending), _done);
            string? pattern = null;
            bool rearm = false;
            if (tail is not null)
            {
                _evaluatedTotal = total;
                _lastLine = LastNonEmptyLine(tail);
                rearm = sinceInput is not null
                    && (PlainText.From(sinceInput).TrimEnd('\n').Contains('\n', StringComparison.Ordinal) || sinceInput.Length >= RearmChars);
                pattern = _lastLine is { } line ? FirstMatch(line, _needsInput) : null;
            }

            ScreenVerdict? verdict = null;
            string? screenPattern = null;
            if (Volatile.Read(ref _screen) is { } screen && total > 0)
            {
                var snap = screen.Snapshot();
                if (snap.CursorAddressed)
                {
                    verdict = ScreenReader.Read(snap);
                    if (verdict.Question is null && !verdict.Working)
                    {
                        screenPattern = FirstMatchNearBottom(snap, _needsInput);
                    }
                }
            }

            string? reason = null;
            string? question = null;
            IReadOnlyList<AgentChoice>? choices = null;
            bool resumed = false;
            lock (_gate)
            {
                // Input that arrived while the text was examined disarms again and wins.
                if (rearm && _inputEpoch == epoch)
                {
                    _armed = true;
                    _sinceInput.Clear();
                }

                if (verdict is not null)
                {
                    reason = DecideOnScreen(verdict, screenPattern, total, lastOutputAt, epoch, out resumed);
                    if (reason is not null)
                    {
                        question = verdict.Question;
                        choices = verdict.Choices;
                    }
                }
                else if (_armed && _inputEpoch == epoch && _flaggedTotal != total && _lastLine is { } last)
                {
                    if (pattern is not null)
                    {
                        reason = $"matched {pattern}";
                    }
                    else if (total > 0 && _time.GetElapsedTime(lastOutputAt) >= QuietPeriod && LooksLikePrompt(last))
                    {
                        reason = "quiet at a prompt";
                    }

                    if (reason is not null)
                    {
                        _flaggedTotal = total;
                    }
                }
            }

            var shown = verdict is { Summary: { } summary } ? summary : _lastLine;
            var display = shown is { Length: > MaxLastLineChars } l ? "…" + l[^(MaxLastLineChars - 1)..] : shown;
            return new DetectorResult(total > 0, display, reason is not null, reason, doneLine, question, choices, resumed);
        }
    }

    /// <summary>The verdict on a screen-drawing program (under <c>_gate</c>); the reason when it is newly found waiting.</summary>
    private string? DecideOnScreen(ScreenVerdict verdict, string? typePattern, long total, long lastOutputAt, long epoch, out bool resumed)
    {
        resumed = false;
        var quietFor = _time.GetElapsedTime(lastOutputAt);
        if (verdict.Key is not { } key)
        {
            _screenCandidateKey = null;
            _screenFlaggedKey = null;
            if (_screenWaiting && (verdict.Working || quietFor >= SettlePeriod))
            {
                _screenWaiting = false;
                resumed = true;
            }

            if (verdict.Working || !_armed || _inputEpoch != epoch || _flaggedTotal == total)
            {
                return null;
            }

            string? reason = typePattern is not null ? $"matched {typePattern}"
                : verdict.PromptLine is not null && quietFor >= QuietPeriod ? "quiet at a prompt"
                : null;
            if (reason is not null)
            {
                _flaggedTotal = total;
            }

            return reason;
        }

        if (key != _screenCandidateKey)
        {
            _screenCandidateKey = key;
            _screenCandidateSince = _time.GetTimestamp();
        }

        bool settled = quietFor >= SettlePeriod || _time.GetElapsedTime(_screenCandidateSince) >= SettleLimit;
        if (!settled || _inputEpoch != epoch)
        {
            return null;
        }

        bool fresh = key != _screenFlaggedKey;
        bool again = !fresh && _screenAnswered && !_screenWaiting && total > _totalAtInput && quietFor >= QuietPeriod;
        if (!fresh && !again)
        {
            return null;
        }

        _screenFlaggedKey = key;
        _screenWaiting = true;
        _screenAnswered = false;
        _flaggedTotal = total;
        return $"screen shows {verdict.Pattern}: {verdict.Question}";
    }

    private static string? FirstMatchNearBottom(ScreenSnapshot screen, IReadOnlyList<Regex> patterns)
    {
        if (patterns.Count == 0)
        {
            return null;
        }

        int seen = 0;
        for (int i = screen.Lines.Count - 1; i >= 0 && seen < ScreenPatternLines; i--)
        {
            var line = ScreenReader.Content(screen.Lines[i].Text);
            if (line.Length == 0)
            {
                continue;
            }

            seen++;
            if (FirstMatch(line, patterns) is { } pattern)
            {
                return pattern;
            }
        }

        return null;
    }

    /// <summary>A line a program leaves the cursor on when it waits for an answer.</summary>
    public static bool LooksLikePrompt(string line)
    {
        var trimmed = line.TrimEnd();
        if (trimmed.Length == 0)
        {
            return false;
        }

        return trimmed[^1] is '?' or ':' or '>' or ']' or '$' or '❯' or '›' || YesNo().IsMatch(trimmed);
    }

    /// <summary>The last non-empty line of terminal output as plain text: escape sequences stripped, carriage returns resolved.</summary>
    public static string? LastNonEmptyLine(string output)
    {
        var plain = PlainText.From(output, 1).TrimEnd('\n');

        // An escape sequence cut off at the end of the output so far is not text.
        int esc = plain.IndexOf('\x1b', StringComparison.Ordinal);
        if (esc >= 0)
        {
            plain = plain[..esc].TrimEnd();
        }

        return plain.Length == 0 ? null : plain;
    }

    private static string? FirstMatch(string line, IReadOnlyList<Regex> patterns)
    {
        foreach (var r in patterns)
        {
            try
            {
                if (r.IsMatch(line))
                {
                    return r.ToString();
                }
            }
            catch (RegexMatchTimeoutException)
            {
            }
        }

        return null;
    }

    private static string? FirstMatchingLine(string plain, IReadOnlyList<Regex> patterns)
    {
        foreach (var line in plain.Split('\n'))
        {
            if (line.Length > 0 && FirstMatch(line, patterns) is not null)
            {
                return line;
            }
        }

        return null;
    }

    private static void AppendCapped(StringBuilder sb, string text, int cap)
    {
        if (text.Length >= cap)
        {
            sb.Clear().Append(text, text.Length - cap, cap);
            return;
        }

        sb.Append(text);

        // Trim in large steps so that appending stays amortized O(1).
        if (sb.Length > cap * 2)
        {
            sb.Remove(0, sb.Length - cap);
        }
    }

    [GeneratedRegex(@"(?i)[\[(](y/n|yes/no)[\])]")]
    private static partial Regex YesNo();
}
