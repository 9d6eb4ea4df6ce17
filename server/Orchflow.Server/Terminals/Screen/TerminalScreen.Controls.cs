using System.Text;

namespace Orchflow.Server.Terminals.Screen;

/// <summary>The parser's actions mapped onto the screen: C0/C1 controls, ESC and CSI sequences, modes, resets, and the strings (OSC titles kept, DCS ignored).</summary>
public sealed partial class TerminalScreen
{
    // ---- C0 / C1 controls ----

    public void Execute(int control)
    {
        switch (control)
        {
            case 0x08: // BS
                if (_x > 0)
                {
                    _x--;
                }

                _pendingWrap = false;
                break;
            case 0x09: // HT
                _x = _tabs.Next(_x, 1);
                _pendingWrap = false;
                break;
            case 0x0A or 0x0B or 0x0C or 0x84: // LF VT FF IND
                _pendingWrap = false;
                Index();
                break;
            case 0x0D: // CR
                _x = 0;
                _pendingWrap = false;
                break;
            case 0x85: // NEL
                _x = 0;
                _pendingWrap = false;
                Index();
                break;
            case 0x88: // HTS
                _tabs.Set(_x);
                break;
            case 0x8D: // RI
                ReverseIndex();
                break;
            case 0x0E: // SO: G1 is never designated here
            case 0x0F: // SI
            default:
                break;
        }
    }

    // ---- Escape sequences ----

    public void EscDispatch(ReadOnlySpan<char> intermediates, char final)
    {
        if (intermediates.Length == 0)
        {
            switch (final)
            {
                case '7':
                    SaveCursor();
                    break;
                case '8':
                    RestoreCursor();
                    break;
                case 'D':
                    Execute(0x84);
                    break;
                case 'E':
                    Execute(0x85);
                    break;
                case 'H':
                    Execute(0x88);
                    break;
                case 'M':
                    ReverseIndex();
                    break;
                case 'c':
                    FullReset();
                    break;
            }

            return;
        }

        if (intermediates is ['#'] && final == '8')
        {
            // DECALN: the screen filled with E.
            _grid.Fill(new Cell { Code = 'E' });
            _top = 0;
            _bottom = Rows - 1;
            SetCursor(0, 0);
        }
        else if (intermediates is ['('])
        {
            _decGraphics = final == '0';
        }
    }

    // ---- Control sequences ----

    public void CsiDispatch(ReadOnlySpan<int> parameters, ReadOnlySpan<char> intermediates, char final, uint subParameterMask)
    {
        if (intermediates.Length > 0)
        {
            if (intermediates is ['?'] && final is 'h' or 'l')
            {
                foreach (var p in parameters)
                {
                    SetPrivateMode(p, final == 'h');
                }
            }
            else if (intermediates is ['!'] && final == 'p')
            {
                SoftReset();
            }

            return;
        }

        int p0 = Arg(parameters, 0, 1);
        switch (final)
        {
            case '@':
                InsertChars(p0);
                break;
            case 'A':
                CursorUp(p0);
                break;
            case 'B' or 'e':
                CursorDown(p0);
                break;
            case 'C' or 'a':
                MoveTo(_y, _x + p0);
                break;
            case 'D':
                MoveTo(_y, _x - p0);
                break;
            case 'E':
                CursorDown(p0);
                _x = 0;
                break;
            case 'F':
                CursorUp(p0);
                _x = 0;
                break;
            case 'G' or '`':
                MoveTo(_y, p0 - 1);
                break;
            case 'H' or 'f':
                CursorPosition(p0, Arg(parameters, 1, 1));
                break;
            case 'I':
                _x = _tabs.Next(_x, p0);
                _pendingWrap = false;
                break;
            case 'Z':
                _x = _tabs.Previous(_x, p0);
                _pendingWrap = false;
                break;
            case 'J':
                EraseDisplay(Arg(parameters, 0, 0));
                break;
            case 'K':
                EraseLine(Arg(parameters, 0, 0));
                break;
            case 'L':
                InsertLines(p0);
                break;
            case 'M':
                DeleteLines(p0);
                break;
            case 'P':
                DeleteChars(p0);
                break;
            case 'S':
                CursorAddressed = true;
                _grid.ScrollUp(_top, _bottom, p0);
                break;
            case 'T' when parameters.Length <= 1:
                CursorAddressed = true;
                _grid.ScrollDown(_top, _bottom, p0);
                break;
            case 'X':
                EraseChars(p0);
                break;
            case 'b':
                Repeat(p0);
                break;
            case 'd':
                CursorAddressed = true;
                CursorPosition(p0, _x + 1, keepColumn: true);
                break;
            case 'g':
                _tabs.Clear(Arg(parameters, 0, 0), _x);
                break;
            case 'h' or 'l':
                foreach (var p in parameters)
                {
                    if (p == 4)
                    {
                        InsertMode = final == 'h';
                    }
                }

                break;
            case 'm':
                _attr = GraphicRendition.Apply(_attr, parameters, subParameterMask);
                break;
            case 'r':
                SetScrollRegion(Arg(parameters, 0, 1), Arg(parameters, 1, Rows));
                break;
            case 's':
                SaveCursor();
                break;
            case 'u':
                RestoreCursor();
                break;
        }
    }

    private static int Arg(ReadOnlySpan<int> parameters, int index, int fallback) =>
        index < parameters.Length && parameters[index] != 0 ? parameters[index] : fallback;

    private void SetPrivateMode(int mode, bool on)
    {
        switch (mode)
        {
            case 1:
                ApplicationCursorKeys = on;
                break;
            case 6:
                OriginMode = on;
                SetCursor(0, 0);
                break;
            case 7:
                AutoWrap = on;
                if (!on)
                {
                    _pendingWrap = false;
                }

                break;
            case 25:
                // Hiding the cursor is what a program that draws frames does first (Ink, ratatui); a line printer never does.
                CursorVisible = on;
                CursorAddressed |= !on;
                break;
            case 1004:
                // Focus reporting: only an interactive full-screen program asks for it.
                CursorAddressed |= on;
                break;
            case 47:
                SwitchBuffer(on, clearOnEntry: false, clearOnExit: false);
                break;
            case 1047:
                SwitchBuffer(on, clearOnEntry: false, clearOnExit: true);
                break;
            case 1048:
                if (on)
                {
                    SaveCursor();
                }
                else
                {
                    RestoreCursor();
                }

                break;
            case 1049:
                if (on)
                {
                    // The cursor is saved in the normal buffer's slot and restored from it on the way back.
                    if (!AlternateScreen)
                    {
                        SaveCursor();
                    }

                    SwitchBuffer(true, clearOnEntry: true, clearOnExit: false);
                }
                else if (AlternateScreen)
                {
                    SwitchBuffer(false, clearOnEntry: false, clearOnExit: false);
                    RestoreCursor();
                }

                break;
            case 2004:
                BracketedPaste = on;
                break;
        }
    }

    private void SwitchBuffer(bool alternate, bool clearOnEntry, bool clearOnExit)
    {
        CursorAddressed = true;
        if (_grid.Switch(alternate, clearOnEntry, clearOnExit))
        {
            _pendingWrap = false;
        }
    }

    private void SoftReset()
    {
        CursorVisible = true;
        InsertMode = false;
        OriginMode = false;
        AutoWrap = true;
        ApplicationCursorKeys = false;
        _attr = CellAttributes.None;
        _top = 0;
        _bottom = Rows - 1;
        _decGraphics = false;
        _saved[0] = default;
        _saved[1] = default;
    }

    private void FullReset()
    {
        SoftReset();
        BracketedPaste = false;
        SwitchBuffer(false, clearOnEntry: false, clearOnExit: true);
        _grid.ClearMain();
        _tabs.Reset();
        MoveTo(0, 0);
        Title = null;
    }

    // ---- Strings (titles are kept, device control strings ignored) ----

    private StringBuilder? _osc;

    public void Hook(ReadOnlySpan<int> parameters, ReadOnlySpan<char> intermediates, char final)
    {
    }

    public void Put(int codePoint)
    {
    }

    public void Unhook()
    {
    }

    public void OscStart() => _osc = null;

    public void OscPut(int codePoint)
    {
        // Only the title is kept, and only a title's worth of it.
        _osc ??= new StringBuilder();
        if (_osc.Length < 256)
        {
            _osc.Append(char.ConvertFromUtf32(codePoint));
        }
    }

    public void OscEnd()
    {
        var s = _osc?.ToString();
        _osc = null;
        if (s is not null && (s.StartsWith("0;", StringComparison.Ordinal) || s.StartsWith("2;", StringComparison.Ordinal)))
        {
            Title = s[2..];
        }
    }
}
