using System.Text;
using System.Text.Json;
using Orchflow.Server.Agents;
using Orchflow.Server.Terminals.Screen;

namespace Orchflow.Server.Tests;

/// <summary>
/// Needs-input read from the screen: the labelled byte streams of the agent CLIs' dialogs in Fixtures/screens
/// (synthetic-*.bin until real recordings replace them) replayed in chunks through the detector, as the daemon feeds it,
/// and the screen reader's rules on small hand-made screens.
/// </summary>
[Trait("Tier", "unit")]
public sealed class ScreenDetectionTests
{
    private static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "screens");

    /// <summary>One evaluation tick of the daemon's detect loop when nothing wakes it.</summary>
    private static readonly TimeSpan Tick = AgentDetection.DetectInterval;

    public sealed record Frame(string Expect, long End, string? Question, IReadOnlyList<string>? Choices);

    public sealed record Fixture(string File, string Vendor, int Columns, int Rows, IReadOnlyList<Frame> Frames);

    private sealed record Labels(IReadOnlyList<Fixture> Fixtures);

    public static TheoryData<string> FixtureFiles()
    {
        var data = new TheoryData<string>();
        foreach (var f in LoadAll())
        {
            data.Add(f.File);
        }

        return data;
    }

    private static List<Fixture> LoadAll()
    {
        var all = new List<Fixture>();
        foreach (var path in Directory.GetFiles(Dir, "*labels.json").Order(StringComparer.Ordinal))
        {
            var labels = JsonSerializer.Deserialize<Labels>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
                ?? throw new InvalidDataException($"{path} holds no labels.");
            all.AddRange(labels.Fixtures);
        }

        return all;
    }

    private sealed class StepTime : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    /// <summary>The terminal's path: bytes decoded by one stateful UTF-8 decoder, then handed to the detector and the screen.</summary>
    private sealed class Replay(Fixture fixture)
    {
        private readonly Decoder _decoder = new UTF8Encoding(false).GetDecoder();

        public StepTime Time { get; } = new();

        public ScreenFeed Screen { get; } = new(fixture.Columns, fixture.Rows);

        public NeedsInputDetector Detector { get; private set; } = null!;

        public Replay Start()
        {
            Detector = new NeedsInputDetector([], [], Time);
            Detector.AttachScreen(Screen);
            return this;
        }

        public void Write(ReadOnlySpan<byte> bytes)
        {
            var chars = new char[_decoder.GetCharCount(bytes, flush: false)];
            _decoder.GetChars(bytes, chars, flush: false);
            if (chars.Length > 0)
            {
                var text = new string(chars);
                Detector.Append(text);
                Screen.Append(text);
            }
        }
    }

    [Theory]
    [MemberData(nameof(FixtureFiles))]
    public void Each_dialog_is_reported_within_one_tick_of_being_drawn_and_a_spinner_never(string file)
    {
        var fixture = LoadAll().Single(f => f.File == file);
        var bytes = File.ReadAllBytes(Path.Combine(Dir, file));
        var replay = new Replay(fixture).Start();
        var random = new Random(file.Length);
        long at = 0;
        foreach (var frame in fixture.Frames)
        {
            // The PTY delivers the bytes in reads of any size, quickly: the detector looks between reads, as its loop would.
            while (at < frame.End)
            {
                int n = (int)Math.Min(frame.End - at, random.Next(1, 700));
                replay.Write(bytes.AsSpan((int)at, n));
                at += n;
                replay.Time.Advance(TimeSpan.FromMilliseconds(1));
                if (at < frame.End)
                {
                    Assert.False(replay.Detector.Evaluate().NeedsInput && frame.Expect != "question", $"{file}: reported waiting at byte {at}, inside a frame that is {frame.Expect}");
                }
            }

            switch (frame.Expect)
            {
                case "question":
                {
                    replay.Time.Advance(Tick);
                    var r = replay.Detector.Evaluate();
                    Assert.True(r.NeedsInput, $"{file}: the dialog drawn by byte {frame.End} was not reported within one tick; the screen shows:\n{replay.Screen.Snapshot().Text}");
                    {
                        Assert.True(frame.Question == r.Question, $"{file}: expected the question \"{frame.Question}\", read \"{r.Question}\" on:\n{replay.Screen.Snapshot().Text}");
                        Assert.Equal(frame.Choices ?? [], (r.Choices ?? []).Select(c => c.Label));
                        Assert.All(r.Choices ?? [], c => Assert.False(string.IsNullOrEmpty(c.Keys)));
                    }

                    // Answered: the person picks the first choice.
                    replay.Detector.InputGiven();
                    break;
                }

                case "working":
                    for (int i = 0; i < 10; i++)
                    {
                        replay.Time.Advance(Tick);
                        var w = replay.Detector.Evaluate();
                        Assert.False(w.NeedsInput, $"{file}: a working screen (byte {frame.End}) was reported as waiting ({w.Reason}):\n{replay.Screen.Snapshot().Text}");
                    }

                    break;

                case "prompt":
                {
                    replay.Time.Advance(NeedsInputDetector.QuietPeriod + Tick);
                    var p = replay.Detector.Evaluate();
                    Assert.True(p.NeedsInput, $"{file}: idle at its prompt (byte {frame.End}) but not reported; the screen shows:\n{replay.Screen.Snapshot().Text}");
                    Assert.Null(p.Question);
                    break;
                }

                default:
                    throw new InvalidDataException($"{file}: unknown label '{frame.Expect}'.");
            }
        }
    }

    /// <summary>A stream recorded from a real CLI (Fixtures/screens/screens.json, written by tests/agents/record-screens.mjs).</summary>
    public sealed record Recorded(string File, string Vendor, string Version, string? Dialog, long? DrawnAt, string? Question, IReadOnlyList<string> Choices, IReadOnlyList<Span> Working);

    public sealed record Span(long Start, long End);

    private sealed record RecordedLabels(IReadOnlyList<Recorded> Screens);

    private static List<Recorded> LoadRecorded()
    {
        var path = Path.Combine(Dir, "screens.json");
        return File.Exists(path)
            ? [.. (JsonSerializer.Deserialize<RecordedLabels>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })?.Screens ?? [])]
            : [];
    }

    public static TheoryData<string> RecordedFiles()
    {
        var data = new TheoryData<string>();
        foreach (var r in LoadRecorded())
        {
            data.Add(r.File);
        }

        return data;
    }

    /// <summary>A recording's temporary folder names are random; they are not what is compared.</summary>
    private static string Normalize(string label) =>
        System.Text.RegularExpressions.Regex.Replace(System.Text.RegularExpressions.Regex.Replace(label, @"^\d\.\s+", ""), @"of-screens-[a-z]+-[A-Za-z0-9]{6}", "of-screens-…");

    [Theory]
    [MemberData(nameof(RecordedFiles))]
    public void A_real_clis_dialog_is_reported_from_the_bytes_drawn_and_its_working_spinner_never(string file)
    {
        var rec = LoadRecorded().Single(r => r.File == file);
        var bytes = File.ReadAllBytes(Path.Combine(Dir, file));
        var replay = new Replay(new Fixture(file, rec.Vendor, 80, 24, [])).Start();
        var random = new Random(file.Length);
        for (int at = 0; at < bytes.Length;)
        {
            int n = Math.Min(bytes.Length - at, random.Next(1, 700));
            replay.Write(bytes.AsSpan(at, n));
            at += n;

            // The spinner redraws about every tick: a tick passes between reads while the model works.
            if (rec.Working.Any(w => at > w.Start && at <= w.End))
            {
                replay.Time.Advance(Tick);
                var w = replay.Detector.Evaluate();
                Assert.False(w.NeedsInput, $"{file} ({rec.Vendor} {rec.Version}): reported waiting ({w.Reason}) at byte {at}, while its model works:\n{replay.Screen.Snapshot().Text}");
            }
            else
            {
                replay.Time.Advance(TimeSpan.FromMilliseconds(1));
            }
        }

        replay.Time.Advance(Tick);
        var r = replay.Detector.Evaluate();
        if (rec.DrawnAt is null)
        {
            Assert.Null(r.Question);
            return;
        }

        Assert.Equal(bytes.Length, rec.DrawnAt);
        Assert.True(r.NeedsInput, $"{file} ({rec.Vendor} {rec.Version}): its {rec.Dialog} dialog was not reported within one tick; the screen shows:\n{replay.Screen.Snapshot().Text}");
        Assert.Equal(rec.Question, r.Question);
        Assert.Equal(rec.Choices.Select(Normalize), (r.Choices ?? []).Select(c => Normalize(c.Label)));
        Assert.All(r.Choices ?? [], c => Assert.False(string.IsNullOrEmpty(c.Keys)));
    }

    [Fact]
    public void The_fixtures_cover_every_vendor_and_dialog()
    {
        var files = LoadAll().Select(f => f.File).ToList();
        foreach (var vendor in new[] { "claude", "codex", "gemini" })
        {
            Assert.Contains(files, f => f.Contains(vendor + "-trust", StringComparison.Ordinal));
            Assert.Contains(files, f => f.Contains(vendor + "-approval", StringComparison.Ordinal));
            Assert.Contains(files, f => f.Contains(vendor + "-edit", StringComparison.Ordinal));
        }

        Assert.Contains(files, f => f.Contains("claude-plan", StringComparison.Ordinal));
        Assert.All(LoadAll(), f => Assert.Contains(f.Frames, fr => fr.Expect == "question"));
    }

    private static ScreenVerdict Read(int columns, int rows, string output)
    {
        var s = new TerminalScreen(columns, rows);
        s.Feed(output);
        return ScreenReader.Read(s.Snapshot());
    }

    [Fact]
    public void A_question_above_footers_is_found_with_its_numbered_menu()
    {
        var v = Read(60, 10, "\u001b[?25l╭────╮\r\n│ Do you want to proceed?\r\n│ ❯ 1. Yes\r\n│   2. Yes, and don't ask again\r\n│   3. No\r\n╰────╯\r\n  Esc to cancel · Tab to amend\r\n  ? for shortcuts");
        Assert.False(v.Working);
        Assert.Equal("Do you want to proceed?", v.Question);
        Assert.Equal(["Yes", "Yes, and don't ask again", "No"], v.Choices!.Select(c => c.Label));
        Assert.Equal(["1", "2", "3"], v.Choices!.Select(c => c.Keys));
    }

    [Fact]
    public void A_spinner_wins_over_a_question_on_the_same_screen()
    {
        Assert.True(Read(60, 6, "Do you want to proceed?\r\n❯ 1. Yes\r\n  2. No\r\n✻ Thinking… (3s · esc to interrupt)").Working);
        Assert.True(Read(60, 6, "Shall I?\r\n⠋ Counting the electrons (esc to cancel, 2s)").Working);
        Assert.True(Read(60, 6, "• Working (12s • esc to interrupt)").Working);
        Assert.Null(Read(60, 6, "✻ Thinking… (3s · esc to interrupt)").Question);

        // Gemini's "waiting for confirmation" spinner is a question, not work.
        var g = Read(60, 6, "Allow execution of: 'ls'?\r\n● 1. Allow once\r\n  2. No\r\n⠏ Waiting for user confirmation...");
        Assert.False(g.Working);
        Assert.Equal("Allow execution of: 'ls'?", g.Question);
    }

    [Fact]
    public void A_numbered_list_without_a_selection_is_not_a_menu()
    {
        var v = Read(60, 6, "Here is the plan:\r\n1. Read the code\r\n2. Write the test\r\n> ");
        Assert.Null(v.Question);
        Assert.Equal(">", v.PromptLine);
    }

    [Fact]
    public void A_highlighted_item_marks_the_selection_of_an_unmarked_menu()
    {
        var v = Read(60, 6, "Pick one?\r\n\u001b[7m1. Red\u001b[0m\r\n2. Blue");
        Assert.Equal("Pick one?", v.Question);
        Assert.Equal(["Red", "Blue"], v.Choices!.Select(c => c.Label));
    }

    [Fact]
    public void An_unnumbered_menu_is_picked_with_arrows_in_the_mode_the_program_asked_for()
    {
        var normal = Read(40, 6, "Continue?\r\n  Yes\r\n❯ No\r\n  Later");
        Assert.Equal(["Yes", "No", "Later"], normal.Choices!.Select(c => c.Label));
        Assert.Equal(["\u001b[A\r", "\r", "\u001b[B\r"], normal.Choices!.Select(c => c.Keys));
        var app = Read(40, 6, "\u001b[?1hContinue?\r\n❯ Yes\r\n  No");
        Assert.Equal(["\r", "\u001bOB\r"], app.Choices!.Select(c => c.Keys));
    }

    [Fact]
    public void A_question_reported_from_the_screen_is_reported_once_ends_when_it_leaves_and_returns_after_a_redraw()
    {
        var time = new StepTime();
        var feed = new ScreenFeed(40, 8);
        var d = new NeedsInputDetector([], [], time);
        d.AttachScreen(feed);
        void Out(string s)
        {
            d.Append(s);
            feed.Append(s);
        }

        const string dialog = "\u001b[H\u001b[2JDo you want to proceed?\r\n❯ 1. Yes\r\n  2. No";
        Out("\u001b[?25l" + dialog);
        Assert.False(d.Evaluate().NeedsInput); // not settled: output this very moment
        time.Advance(NeedsInputDetector.SettlePeriod);
        var r = d.Evaluate();
        Assert.True(r.NeedsInput);
        Assert.Equal("Do you want to proceed?", r.Question);
        Assert.StartsWith("screen shows claude approval", r.Reason, StringComparison.Ordinal);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(d.Evaluate().NeedsInput);

        // An arrow key: the program redraws the same dialog, still waiting; reported again once it is quiet.
        d.InputGiven();
        Out(dialog.Replace("❯ 1", "  1", StringComparison.Ordinal).Replace("  2", "❯ 2", StringComparison.Ordinal));
        time.Advance(NeedsInputDetector.SettlePeriod);
        Assert.False(d.Evaluate().NeedsInput);
        time.Advance(NeedsInputDetector.QuietPeriod);
        Assert.True(d.Evaluate().NeedsInput);

        // The dialog leaves the screen: the wait is over even without input through Orchflow.
        Out("\u001b[H\u001b[2J✻ Working… (1s · esc to interrupt)");
        time.Advance(NeedsInputDetector.SettlePeriod);
        var gone = d.Evaluate();
        Assert.True(gone.Resumed);
        Assert.False(gone.NeedsInput);
    }

    [Fact]
    public void A_line_oriented_program_keeps_the_line_rules_even_with_a_screen()
    {
        var time = new StepTime();
        var feed = new ScreenFeed(40, 8);
        var d = new NeedsInputDetector([], [], time);
        d.AttachScreen(feed);
        const string text = "step 1\r\nDo you want to proceed?\r\n1. Yes\r\n";
        d.Append(text);
        feed.Append(text);
        time.Advance(TimeSpan.FromSeconds(1));
        var r = d.Evaluate();
        Assert.False(r.NeedsInput);
        Assert.Equal("1. Yes", r.LastLine);
    }

    [Theory]
    [InlineData("codex-trust.bin", new[] { "1\r", "2\r" })] // "enter continue · esc back": a digit only moves the marker
    [InlineData("claude-proceed.bin", new[] { "1", "2", "3", "4" })] // a digit picks at once
    [InlineData("gemini-trust.bin", new[] { "1", "2", "3" })]
    public void A_numbered_menu_is_answered_with_Enter_after_the_digit_only_where_its_footer_says_Enter_confirms(string file, string[] keys)
    {
        var screen = new TerminalScreen(80, 24);
        screen.Feed(Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(Dir, file))));
        var verdict = ScreenReader.Read(screen.Snapshot());
        Assert.Equal(keys, verdict.Choices!.Select(c => c.Keys));
    }
}
