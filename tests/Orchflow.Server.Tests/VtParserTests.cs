using System.Text;
using Orchflow.Server.Terminals.Screen;

namespace Orchflow.Server.Tests;

/// <summary>The DEC ANSI parser, one transition family at a time: what each sequence dispatches, and where it goes wrong on purpose.</summary>
[Trait("Tier", "unit")]
public sealed class VtParserTests
{
    /// <summary>Writes every action as a short token, so a test reads as the expected action list.</summary>
    private sealed class Recorder : IVtHandler
    {
        public List<string> Actions { get; } = [];

        private readonly StringBuilder _text = new();

        private void Flush()
        {
            if (_text.Length > 0)
            {
                Actions.Add($"print:{_text}");
                _text.Clear();
            }
        }

        private void Add(string a)
        {
            Flush();
            Actions.Add(a);
        }

        public List<string> Done()
        {
            Flush();
            return Actions;
        }

        public void PrintAscii(ReadOnlySpan<char> text) => _text.Append(text);

        public void Print(int codePoint) => _text.Append(char.ConvertFromUtf32(codePoint));

        public void Execute(int control) => Add($"exec:{control:X2}");

        public void EscDispatch(ReadOnlySpan<char> intermediates, char final) => Add($"esc:{intermediates}{final}");

        public void CsiDispatch(ReadOnlySpan<int> parameters, ReadOnlySpan<char> intermediates, char final, uint subParameterMask) =>
            Add($"csi:{intermediates}[{string.Join(',', parameters.ToArray())}]{final}" + (subParameterMask == 0 ? "" : $" sub:{subParameterMask:X}"));

        public void Hook(ReadOnlySpan<int> parameters, ReadOnlySpan<char> intermediates, char final) =>
            Add($"hook:{intermediates}[{string.Join(',', parameters.ToArray())}]{final}");

        public void Put(int codePoint) => Add($"put:{char.ConvertFromUtf32(codePoint)}");

        public void Unhook() => Add("unhook");

        public void OscStart() => Add("osc-start");

        public void OscPut(int codePoint) => Add($"osc:{char.ConvertFromUtf32(codePoint)}");

        public void OscEnd() => Add("osc-end");
    }

    private static List<string> Parse(params string[] chunks)
    {
        var r = new Recorder();
        var p = new VtParser(r);
        foreach (var c in chunks)
        {
            p.Feed(c);
        }

        return r.Done();
    }

    [Fact]
    public void Ground_prints_text_and_executes_c0_controls() =>
        Assert.Equal(["print:ab", "exec:0D", "exec:0A", "exec:08", "exec:09", "exec:07", "print:é中"], Parse("ab\r\n\b\t\aé中"));

    [Fact]
    public void Del_is_ignored_in_ground() => Assert.Equal(["print:ab"], Parse("a\u007fb"));

    [Fact]
    public void A_surrogate_pair_split_across_two_chunks_prints_one_code_point()
    {
        var emoji = "😀";
        Assert.Equal(["print:x😀y"], Parse("x" + emoji[0], emoji[1] + "y"));
    }

    [Fact]
    public void Escape_sequences_dispatch_with_their_intermediates()
    {
        Assert.Equal(["esc:7", "esc:8", "esc:(0", "esc:#8", "esc:M"], Parse("\u001b7\u001b8\u001b(0\u001b#8\u001bM"));
    }

    [Fact]
    public void Control_sequences_carry_parameters_defaults_and_private_markers()
    {
        Assert.Equal(
            ["csi:[]H", "csi:[5,10]H", "csi:[0,3]H", "csi:?[1049]h", "csi:?[25,2004]l", "csi: [2]q", "csi:![]p", "csi:>[0]c"],
            Parse("\u001b[H\u001b[5;10H\u001b[;3H\u001b[?1049h\u001b[?25;2004l\u001b[2 q\u001b[!p\u001b[>0c"));
    }

    [Fact]
    public void A_sequence_split_across_chunks_dispatches_once_complete() =>
        Assert.Equal(["print:a", "csi:[12,4]H", "print:b"], Parse("a\u001b", "[1", "2;", "4Hb"));

    [Fact]
    public void C0_controls_inside_a_sequence_execute_without_ending_it() =>
        Assert.Equal(["exec:0A", "csi:[12]H"], Parse("\u001b[1\n2H"));

    [Fact]
    public void Colon_sub_parameters_are_marked_so_sgr_can_skip_them() =>
        Assert.Equal(["csi:[38,2,1,2,3,1]m sub:1E"], Parse("\u001b[38:2:1:2:3;1m"));

    [Fact]
    public void A_private_marker_after_parameters_makes_the_sequence_ignored() =>
        Assert.Equal(["print:x"], Parse("\u001b[1?2hx"));

    [Fact]
    public void A_parameter_byte_after_an_intermediate_makes_the_sequence_ignored() =>
        Assert.Equal(["print:x"], Parse("\u001b[1 2qx"));

    [Fact]
    public void Can_and_sub_abort_a_sequence_and_return_to_ground()
    {
        Assert.Equal(["exec:18", "print:A"], Parse("\u001b[12\u0018A"));
        Assert.Equal(["exec:1A", "print:B"], Parse("\u001b[3\u001aB"));
    }

    [Fact]
    public void Escape_inside_a_sequence_starts_a_new_one() =>
        Assert.Equal(["csi:[2]J"], Parse("\u001b[12\u001b[2J"));

    [Fact]
    public void Osc_strings_end_with_bel_or_st_and_may_span_chunks()
    {
        Assert.Equal(["osc-start", "osc:0", "osc:;", "osc:t", "osc-end", "print:x"], Parse("\u001b]0;t\u0007x"));
        Assert.Equal(["osc-start", "osc:2", "osc:;", "osc:é", "osc-end", "esc:\\", "print:y"], Parse("\u001b]2;", "é\u001b\\y"));
    }

    [Fact]
    public void Dcs_hooks_puts_its_data_and_unhooks_at_st() =>
        Assert.Equal(["hook:$[1]q", "put:m", "put:x", "unhook", "esc:\\"], Parse("\u001bP1$qmx\u001b\\"));

    [Fact]
    public void Sos_pm_and_apc_strings_are_swallowed() =>
        Assert.Equal(["esc:\\", "print:x", "esc:\\", "print:y"], Parse("\u001b_Gabc;def\u001b\\x\u001b^pm\u001b\\y"));

    [Fact]
    public void C1_code_points_are_the_eight_bit_forms_of_csi_osc_and_st()
    {
        Assert.Equal(["csi:[2]J", "print:a"], Parse("\u009b2Ja"));
        Assert.Equal(["osc-start", "osc:0", "osc-end", "print:b"], Parse("\u009d0\u009cb"));
        Assert.Equal(["exec:84", "exec:85", "exec:8D"], Parse("\u0084\u0085\u008d"));
    }

    [Fact]
    public void Too_many_parameters_ignore_the_sequence_and_values_are_capped()
    {
        var many = string.Join(';', Enumerable.Repeat("1", VtParser.MaxParameters + 5));
        Assert.Equal(["print:x"], Parse($"\u001b[{many}mx"));
        Assert.Equal(["csi:[65535]A"], Parse("\u001b[99999999999A"));
    }

    [Fact]
    public void The_parser_reports_its_state_and_resets_to_ground()
    {
        var r = new Recorder();
        var p = new VtParser(r);
        p.Feed("\u001b[1;");
        Assert.Equal(VtState.CsiParam, p.State);
        p.Reset();
        Assert.Equal(VtState.Ground, p.State);
        p.Feed("H");
        Assert.Equal(["print:H"], r.Done());
    }
}
