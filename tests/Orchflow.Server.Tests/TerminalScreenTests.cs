using Orchflow.Server.Terminals.Screen;

namespace Orchflow.Server.Tests;

/// <summary>The screen model: what each sequence does to the grid and the cursor, checked on small screens.</summary>
[Trait("Tier", "unit")]
public sealed class TerminalScreenTests
{
    private static TerminalScreen Screen(int columns, int rows, string output)
    {
        var s = new TerminalScreen(columns, rows);
        s.Feed(output);
        return s;
    }

    private static string[] Rows(TerminalScreen s) => s.Snapshot().Lines.Select(l => l.Text).ToArray();

    private static (int Row, int Column) Cursor(TerminalScreen s) => (s.CursorRow, s.CursorColumn);

    [Fact]
    public void Autowrap_defers_the_wrap_until_the_next_printable_character()
    {
        var s = Screen(5, 3, "abcde");
        Assert.Equal((0, 4), Cursor(s));
        Assert.True(s.PendingWrap);
        s.Feed("f");
        Assert.Equal(["abcde", "f", ""], Rows(s));
        Assert.True(s.Snapshot().Lines[0].Wrapped);
        Assert.Equal((1, 1), Cursor(s));

        // A carriage return in the deferred state stays on the line.
        var t = Screen(5, 3, "abcde\rX");
        Assert.Equal(["Xbcde", "", ""], Rows(t));
    }

    [Fact]
    public void Without_autowrap_the_last_column_is_overwritten() =>
        Assert.Equal(["abcdg", ""], Rows(Screen(5, 2, "\u001b[?7labcdefg")));

    [Fact]
    public void Line_feed_at_the_bottom_scrolls_the_screen() =>
        Assert.Equal(["2", "3", "4"], Rows(Screen(4, 3, "1\r\n2\r\n3\r\n4")));

    [Fact]
    public void Cursor_movements_are_clamped_and_one_based()
    {
        var s = Screen(10, 5, "\u001b[3;4HA\u001b[2AB\u001b[5CC\u001b[9DD\u001b[BE\u001b[GF\u001b[4dG\u001b[4`H\u001b[99;99HI");
        Assert.Equal('A', (char)s.CellAt(2, 3).Code);
        Assert.Equal('B', (char)s.CellAt(0, 4).Code);
        Assert.Equal('C', (char)s.CellAt(0, 9).Code);
        Assert.Equal('D', (char)s.CellAt(0, 0).Code);
        Assert.Equal('E', (char)s.CellAt(1, 1).Code);
        Assert.Equal('F', (char)s.CellAt(1, 0).Code);
        Assert.Equal('G', (char)s.CellAt(3, 1).Code);
        Assert.Equal('H', (char)s.CellAt(3, 3).Code);
        Assert.Equal('I', (char)s.CellAt(4, 9).Code);
    }

    [Fact]
    public void Next_and_previous_line_and_hvp()
    {
        var s = Screen(6, 4, "ab\u001b[2Ec\u001b[Fd\u001b[4;6fe");
        Assert.Equal(["ab", "d", "c", "     e"], Rows(s));
    }

    [Fact]
    public void Erase_in_display_and_line()
    {
        Assert.Equal(["abc", "d", ""], Rows(Screen(3, 3, "abcdefghi\u001b[2;2H\u001b[J")));
        Assert.Equal(["", "  f", "ghi"], Rows(Screen(3, 3, "abcdefghi\u001b[2;2H\u001b[1J")));
        Assert.Equal(["", "", ""], Rows(Screen(3, 3, "abcdefghi\u001b[2J")));
        Assert.Equal(["abc", "d", "ghi"], Rows(Screen(3, 3, "abcdefghi\u001b[2;2H\u001b[K")));
        Assert.Equal(["abc", "  f", "ghi"], Rows(Screen(3, 3, "abcdefghi\u001b[2;2H\u001b[1K")));
        Assert.Equal(["abc", "", "ghi"], Rows(Screen(3, 3, "abcdefghi\u001b[2;2H\u001b[2K")));
    }

    [Fact]
    public void Erase_delete_and_insert_characters()
    {
        Assert.Equal(["a  def"], Rows(Screen(6, 1, "abcdef\u001b[2G\u001b[2X")));
        Assert.Equal(["adef"], Rows(Screen(6, 1, "abcdef\u001b[2G\u001b[2P")));
        Assert.Equal(["a  bcd"], Rows(Screen(6, 1, "abcdef\u001b[2G\u001b[2@")));
        Assert.Equal(["aXYbcd"], Rows(Screen(6, 1, "abcdef\u001b[2G\u001b[4hXY\u001b[4l")));
        Assert.Equal(["abbbb"], Rows(Screen(6, 1, "ab\u001b[3b")));
    }

    [Fact]
    public void A_scroll_region_confines_line_feeds_index_and_reverse_index()
    {
        var s = Screen(3, 5, "1\r\n2\r\n3\r\n4\r\n5\u001b[2;4r");
        Assert.Equal((0, 0), Cursor(s));
        s.Feed("\u001b[4;1H\nX");
        Assert.Equal(["1", "3", "4", "X", "5"], Rows(s));
        s.Feed("\u001b[2;1H\u001bMY");
        Assert.Equal(["1", "Y", "3", "4", "5"], Rows(s));
        s.Feed("\u001bD\u001bEZ");
        Assert.Equal(["1", "Y", "3", "Z", "5"], Rows(s));
    }

    [Fact]
    public void Scroll_up_and_down_and_insert_and_delete_lines_stay_in_the_region()
    {
        Assert.Equal(["1", "3", "4", "", "5"], Rows(Screen(3, 5, "1\r\n2\r\n3\r\n4\r\n5\u001b[2;4r\u001b[S")));
        Assert.Equal(["1", "", "2", "3", "5"], Rows(Screen(3, 5, "1\r\n2\r\n3\r\n4\r\n5\u001b[2;4r\u001b[T")));
        Assert.Equal(["1", "2", "", "3", "5"], Rows(Screen(3, 5, "1\r\n2\r\n3\r\n4\r\n5\u001b[2;4r\u001b[3;2H\u001b[L")));
        Assert.Equal(["1", "3", "4", "", "5"], Rows(Screen(3, 5, "1\r\n2\r\n3\r\n4\r\n5\u001b[2;4r\u001b[2;1H\u001b[M")));
        var s = Screen(3, 5, "\u001b[2;4r\u001b[?6h\u001b[1;1HO\u001b[9;1HP");
        Assert.Equal(["", "O", "", "P", ""], Rows(s));
    }

    [Fact]
    public void The_alternate_screen_keeps_the_normal_one_and_1049_restores_the_cursor()
    {
        var s = Screen(10, 3, "shell$ ls\r\nfile\u001b[?1049h");
        Assert.True(s.AlternateScreen);
        Assert.Equal(["", "", ""], Rows(s));
        s.Feed("\u001b[2;3Hvim");
        Assert.Equal(["", "  vim", ""], Rows(s));
        s.Feed("\u001b[?1049l");
        Assert.False(s.AlternateScreen);
        Assert.Equal(["shell$ ls", "file", ""], Rows(s));
        Assert.Equal((1, 4), Cursor(s));

        // ?47 switches without clearing; ?1047 clears the alternate screen on the way out.
        var t = Screen(5, 2, "\u001b[?47hA\u001b[?47l\u001b[?47h");
        Assert.Equal(["A", ""], Rows(t));
        t.Feed("\u001b[?47l\u001b[?1047hB\u001b[?1047l\u001b[?1047h");
        Assert.Equal(["", ""], Rows(t));
    }

    [Fact]
    public void Save_and_restore_cursor_with_decsc_and_csi_s()
    {
        var s = Screen(10, 3, "\u001b[2;5H\u001b7\u001b[H\u001b8X\u001b[3;2H\u001b[s\u001b[H\u001b[uY");
        Assert.Equal(["", "    X", " Y"], Rows(s));
    }

    [Fact]
    public void Tabs_stop_every_eight_columns_and_can_be_set_and_cleared()
    {
        Assert.Equal(["a       b       c"], Rows(Screen(20, 1, "a\tb\tc")));
        Assert.Equal(["a  b    c"], Rows(Screen(20, 1, "\u001b[3g\u001b[4G\u001bH\u001b[9G\u001bH\u001b[1Ga\tb\tc")));
        Assert.Equal(["        y       x"], Rows(Screen(20, 1, "\u001b[2Ix\u001b[2Zy")));
    }

    [Fact]
    public void Wide_characters_take_two_cells_and_wrap_whole()
    {
        var s = Screen(5, 2, "中文x");
        Assert.Equal(["中文x", ""], Rows(s));
        Assert.Equal((0, 4), Cursor(s));
        Assert.True(s.PendingWrap);
        var w = Screen(5, 2, "abcd中");
        Assert.Equal(["abcd", "中"], Rows(w));
        Assert.True(w.Snapshot().Lines[0].Wrapped);

        // Overwriting half of a wide character erases all of it.
        Assert.Equal([" x"], Rows(Screen(4, 1, "中\u001b[2Gx")));
        Assert.Equal(["x"], Rows(Screen(4, 1, "中\u001b[1Gx")));
        Assert.Equal(["😀!"], Rows(Screen(4, 1, "😀!")));
        Assert.Equal((0, 3), Cursor(Screen(4, 1, "😀!")));
    }

    [Fact]
    public void Combining_marks_join_the_character_before_them()
    {
        var s = Screen(5, 1, "e\u0301x");
        Assert.Equal(["e\u0301x"], Rows(s));
        Assert.Equal((0, 2), Cursor(s));
        Assert.Equal("\u0301", s.CellAt(0, 0).Combining);
    }

    [Fact]
    public void Bracketed_paste_application_cursor_keys_and_cursor_visibility_are_tracked()
    {
        var s = Screen(5, 1, "\u001b[?2004h\u001b[?1h\u001b[?25l");
        Assert.True(s.BracketedPaste);
        Assert.True(s.ApplicationCursorKeys);
        Assert.False(s.CursorVisible);
        s.Feed("\u001b[?2004l\u001b[?1l\u001b[?25h");
        Assert.False(s.BracketedPaste);
        Assert.False(s.ApplicationCursorKeys);
        Assert.True(s.CursorVisible);
    }

    [Fact]
    public void Sgr_keeps_inverse_and_bold_and_skips_colours_whole()
    {
        var s = Screen(10, 1, "\u001b[38;2;1;7;3mA\u001b[38:2:1:7:3mB\u001b[7mC\u001b[27;1mD\u001b[0mE");
        Assert.Equal(CellAttributes.None, s.CellAt(0, 0).Attributes);
        Assert.Equal(CellAttributes.None, s.CellAt(0, 1).Attributes);
        Assert.Equal(CellAttributes.Inverse, s.CellAt(0, 2).Attributes);
        Assert.Equal(CellAttributes.Bold, s.CellAt(0, 3).Attributes);
        Assert.Equal(CellAttributes.None, s.CellAt(0, 4).Attributes);
        Assert.True(s.Snapshot().Lines[0].Highlighted);
    }

    [Fact]
    public void Resize_keeps_the_cursor_line_visible_and_text_anchored_top_left()
    {
        var s = Screen(6, 4, "1\r\n2\r\n3\r\n4abc");
        s.Resize(3, 2);
        Assert.Equal(["3", "4ab"], Rows(s));
        Assert.Equal((1, 2), Cursor(s));
        s.Resize(8, 3);
        Assert.Equal(["3", "4ab", ""], Rows(s));
        Assert.Equal(0, s.ScrollTop);
        Assert.Equal(2, s.ScrollBottom);
    }

    [Fact]
    public void Decaln_and_full_reset()
    {
        Assert.Equal(["EEE", "EEE"], Rows(Screen(3, 2, "\u001b#8")));
        var s = Screen(3, 2, "ab\u001b[?1049h\u001b[?2004hx\u001bc");
        Assert.False(s.AlternateScreen);
        Assert.False(s.BracketedPaste);
        Assert.Equal(["", ""], Rows(s));
    }

    [Fact]
    public void Dec_special_graphics_draw_lines() =>
        Assert.Equal(["┌─┐"], Rows(Screen(3, 1, "\u001b(0lqk\u001b(B")));

    [Fact]
    public void A_rendered_screen_drawn_on_a_blank_one_gives_the_same_screen()
    {
        var s = Screen(12, 4, "prompt$ top\r\n\u001b[?1049h\u001b[?2004h\u001b[2;3r\u001b[1;1H\u001b[7m PID \u001b[0m中x\u001b[3;2He\u0301\u001b[4;12HZ\u001b[2;5H");
        var copy = Screen(12, 4, s.Render());
        Assert.Equal(Rows(s), Rows(copy));
        Assert.Equal(Cursor(s), Cursor(copy));
        Assert.True(copy.AlternateScreen);
        Assert.True(copy.BracketedPaste);
        Assert.Equal((1, 2), (copy.ScrollTop, copy.ScrollBottom));
        Assert.True(copy.Snapshot().Lines[0].Highlighted);
        copy.Feed("\u001b[?1049l");
        Assert.Equal(["prompt$ top", "", "", ""], Rows(copy));
    }

    [Fact]
    public void A_program_that_draws_is_told_from_one_that_prints_lines()
    {
        Assert.False(Screen(20, 3, "line 1\r\nline 2\r\n\u001b[1mbold\u001b[0m\r\n").CursorAddressed);
        Assert.True(Screen(20, 3, "frame\r\n\u001b[1A\u001b[2Kframe 2").CursorAddressed);
        Assert.True(Screen(20, 3, "\u001b[?25lframe").CursorAddressed);
        Assert.True(Screen(20, 3, "\u001b[5;1Hx").CursorAddressed);
    }

    [Fact]
    public void Under_a_flood_the_feed_skips_old_output_and_shows_the_newest_screen()
    {
        var feed = new ScreenFeed(20, 3);
        var line = new string('x', 999) + "\r\n";
        long appended = 0;
        for (int i = 0; i < 400; i++)
        {
            feed.Append(line);
            appended += line.Length;
        }

        // The tail of a cut sequence must not print: the feed resumes at the next escape.
        const string last = "\u001b[2J\u001b[Hlatest\r\nscreen";
        feed.Append(last);
        appended += last.Length;
        var snap = feed.Snapshot();
        Assert.Equal(["latest", "screen", ""], snap.Lines.Select(l => l.Text));
        Assert.True(feed.SkippedChars > 0, "nothing was skipped");
        Assert.True(feed.ParsedChars <= 3 * ScreenFeed.PendingChars + last.Length, $"parsed {feed.ParsedChars} characters of {appended}");
        Assert.Equal(appended, feed.SkippedChars + feed.ParsedChars);
    }
}
