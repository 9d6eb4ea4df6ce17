namespace Orchflow.Server.Terminals.Screen;

/// <summary>What the parser recognised, in order. The screen model implements it; the parser keeps no screen state.</summary>
public interface IVtHandler
{
    /// <summary>A run of printable ASCII (0x20-0x7E): the common case, handed over whole so the screen can copy it in one loop.</summary>
    void PrintAscii(ReadOnlySpan<char> text);

    /// <summary>One printable character outside ASCII, as a Unicode code point (surrogate pairs already joined).</summary>
    void Print(int codePoint);

    /// <summary>A C0 or C1 control function (BEL, BS, HT, LF, VT, FF, CR, IND, NEL, HTS, RI ...).</summary>
    void Execute(int control);

    /// <summary>An escape sequence: ESC, intermediates (0x20-0x2F), final (0x30-0x7E).</summary>
    void EscDispatch(ReadOnlySpan<char> intermediates, char final);

    /// <summary>
    /// A control sequence. Parameters absent or empty are 0 (the function decides its default); a sub-parameter (after
    /// ':') is passed as a parameter of its own with its bit set in <paramref name="subParameterMask"/> (bit i for
    /// parameter i), so a screen can skip a colour given as 38:2:r:g:b whole. The private marker (&lt; = &gt; ?) comes
    /// first in <paramref name="intermediates"/>.
    /// </summary>
    void CsiDispatch(ReadOnlySpan<int> parameters, ReadOnlySpan<char> intermediates, char final, uint subParameterMask);

    /// <summary>A device control string started (DCS ... final); its data follows through <see cref="Put"/>.</summary>
    void Hook(ReadOnlySpan<int> parameters, ReadOnlySpan<char> intermediates, char final);

    void Put(int codePoint);

    void Unhook();

    void OscStart();

    void OscPut(int codePoint);

    void OscEnd();
}

/// <summary>
/// A parser for the byte stream of a VT500-compatible terminal, written after Paul Williams' state diagram of the DEC ANSI
/// parser (vt100.net, emu/dec_ansi_parser): states ground, escape, escape intermediate, CSI entry / param /
/// intermediate / ignore, DCS entry / param / intermediate / passthrough / ignore, OSC string and SOS/PM/APC string, with
/// the diagram's actions (execute, print, collect, param, esc_dispatch, csi_dispatch, hook, put, unhook, osc_start,
/// osc_put, osc_end) sent to an <see cref="IVtHandler"/>.
/// </summary>
/// <remarks>
/// <para>
/// It reads decoded text (the terminal decodes UTF-8 once, with a stateful decoder, before anything else sees it), so
/// it works on code points: a surrogate pair split across two chunks is kept and joined, code points above 0x9F print
/// in ground and are string data inside OSC and DCS, and U+0080-U+009F are the C1 controls of the diagram (CSI, OSC,
/// DCS, ST ...), as xterm reads them in UTF-8 mode.
/// </para>
/// <para>
/// Two departures from the 1990s diagram, both what xterm and every current terminal do: BEL ends an OSC string, and ':'
/// in CSI parameters separates sub-parameters instead of making the sequence ignored. 0x7F is ignored in ground (a
/// terminal does not print DEL). Parameters are capped at <see cref="MaxParameters"/> and each at 65535; collected
/// intermediates at <see cref="MaxIntermediates"/> (a longer sequence is ignored, not misread). Not thread-safe.
/// </para>
/// </remarks>
public sealed class VtParser
{
    public const int MaxParameters = 32;

    public const int MaxIntermediates = 4;

    private const int MaxParameterValue = 65535;

    private readonly IVtHandler _handler;
    private readonly int[] _params = new int[MaxParameters];
    private readonly char[] _intermediates = new char[MaxIntermediates];
    private VtState _state = VtState.Ground;
    private int _paramCount;
    private bool _paramStarted;
    private uint _subParameterMask;
    private bool _tooMany;
    private int _intermediateCount;
    private char _highSurrogate;

    public VtParser(IVtHandler handler) => _handler = handler;

    /// <summary>The state after the last character fed; for tests and for a replay that must start in ground.</summary>
    public VtState State => _state;

    /// <summary>Feeds a chunk of output. Sequences and characters split across chunks are completed by the next call.</summary>
    public void Feed(ReadOnlySpan<char> text)
    {
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];

            // The hot path: a run of printable ASCII in ground goes to the screen in one call.
            if (_state == VtState.Ground && c is >= ' ' and < '\x7f' && _highSurrogate == '\0')
            {
                int start = i;
                do
                {
                    i++;
                }
                while (i < text.Length && text[i] is >= ' ' and < '\x7f');

                _handler.PrintAscii(text[start..i]);
                continue;
            }

            i++;
            int cp;
            if (_highSurrogate != '\0')
            {
                char high = _highSurrogate;
                _highSurrogate = '\0';
                if (char.IsLowSurrogate(c))
                {
                    cp = char.ConvertToUtf32(high, c);
                }
                else
                {
                    // A lone high surrogate: the decoder never produces one, but a replayed string might.
                    Step(0xFFFD);
                    cp = c;
                }
            }
            else if (char.IsHighSurrogate(c))
            {
                _highSurrogate = c;
                continue;
            }
            else
            {
                cp = char.IsLowSurrogate(c) ? 0xFFFD : c;
            }

            Step(cp);
        }
    }

    /// <summary>Back to ground, nothing collected; a string in progress is ended first.</summary>
    public void Reset()
    {
        Transition(VtState.Ground);
        _highSurrogate = '\0';
    }

    private void Step(int cp)
    {
        // "Anywhere" transitions, which the diagram draws from every state.
        switch (cp)
        {
            case 0x18 or 0x1A:
                Transition(VtState.Ground);
                _handler.Execute(cp);
                return;
            case 0x1B:
                Transition(VtState.Escape);
                return;
            case >= 0x80 and <= 0x9F:
                StepC1(cp);
                return;
        }

        switch (_state)
        {
            case VtState.Ground:
                if (cp < 0x20)
                {
                    _handler.Execute(cp);
                }
                else if (cp != 0x7F)
                {
                    _handler.Print(cp);
                }

                break;

            case VtState.Escape:
                if (cp < 0x20)
                {
                    _handler.Execute(cp);
                }
                else if (cp <= 0x2F)
                {
                    Collect(cp);
                    _state = VtState.EscapeIntermediate;
                }
                else if (cp == '[')
                {
                    Transition(VtState.CsiEntry);
                }
                else if (cp == ']')
                {
                    Transition(VtState.OscString);
                }
                else if (cp == 'P')
                {
                    Transition(VtState.DcsEntry);
                }
                else if (cp is 'X' or '^' or '_')
                {
                    Transition(VtState.SosPmApcString);
                }
                else if (cp < 0x7F)
                {
                    _handler.EscDispatch(Intermediates, (char)cp);
                    Transition(VtState.Ground);
                }
                else if (cp > 0x7F)
                {
                    // ESC before a non-ASCII character: the escape is dropped and the character printed.
                    Transition(VtState.Ground);
                    _handler.Print(cp);
                }

                break;

            case VtState.EscapeIntermediate:
                if (cp < 0x20)
                {
                    _handler.Execute(cp);
                }
                else if (cp <= 0x2F)
                {
                    Collect(cp);
                }
                else if (cp < 0x7F)
                {
                    _handler.EscDispatch(Intermediates, (char)cp);
                    Transition(VtState.Ground);
                }
                else if (cp > 0x7F)
                {
                    Transition(VtState.Ground);
                }

                break;

            case VtState.CsiEntry:
            case VtState.CsiParam:
                if (cp < 0x20)
                {
                    _handler.Execute(cp);
                }
                else if (cp is >= '0' and <= '9' or ';' or ':')
                {
                    Param(cp);
                    _state = VtState.CsiParam;
                }
                else if (cp is >= '<' and <= '?')
                {
                    // A private marker is only valid first.
                    if (_state == VtState.CsiEntry)
                    {
                        Collect(cp);
                        _state = VtState.CsiParam;
                    }
                    else
                    {
                        _state = VtState.CsiIgnore;
                    }
                }
                else if (cp <= 0x2F)
                {
                    Collect(cp);
                    _state = VtState.CsiIntermediate;
                }
                else if (cp is >= 0x40 and < 0x7F)
                {
                    CsiDispatch((char)cp);
                    Transition(VtState.Ground);
                }
                else if (cp > 0x7F)
                {
                    _state = VtState.CsiIgnore;
                }

                break;

            case VtState.CsiIntermediate:
                if (cp < 0x20)
                {
                    _handler.Execute(cp);
                }
                else if (cp <= 0x2F)
                {
                    Collect(cp);
                }
                else if (cp <= 0x3F)
                {
                    _state = VtState.CsiIgnore;
                }
                else if (cp < 0x7F)
                {
                    CsiDispatch((char)cp);
                    Transition(VtState.Ground);
                }

                break;

            case VtState.CsiIgnore:
                if (cp < 0x20)
                {
                    _handler.Execute(cp);
                }
                else if (cp is >= 0x40 and < 0x7F)
                {
                    Transition(VtState.Ground);
                }

                break;

            case VtState.DcsEntry:
            case VtState.DcsParam:
                if (cp < 0x20 || cp == 0x7F)
                {
                    // Ignored.
                }
                else if (cp is >= '0' and <= '9' or ';')
                {
                    Param(cp);
                    _state = VtState.DcsParam;
                }
                else if (cp is >= '<' and <= '?' && _state == VtState.DcsEntry)
                {
                    Collect(cp);
                    _state = VtState.DcsParam;
                }
                else if (cp is ':' or (>= '<' and <= '?'))
                {
                    _state = VtState.DcsIgnore;
                }
                else if (cp <= 0x2F)
                {
                    Collect(cp);
                    _state = VtState.DcsIntermediate;
                }
                else if (cp < 0x7F)
                {
                    Hook((char)cp);
                }
                else
                {
                    _state = VtState.DcsIgnore;
                }

                break;

            case VtState.DcsIntermediate:
                if (cp is >= 0x20 and <= 0x2F)
                {
                    Collect(cp);
                }
                else if (cp is >= 0x30 and <= 0x3F || cp > 0x7F)
                {
                    _state = VtState.DcsIgnore;
                }
                else if (cp is >= 0x40 and < 0x7F)
                {
                    Hook((char)cp);
                }

                break;

            case VtState.DcsPassthrough:
                if (cp != 0x7F)
                {
                    _handler.Put(cp);
                }

                break;

            case VtState.OscString:
                if (cp == 0x07)
                {
                    Transition(VtState.Ground);
                }
                else if (cp >= 0x20 && cp != 0x7F)
                {
                    _handler.OscPut(cp);
                }

                break;

            case VtState.DcsIgnore:
            case VtState.SosPmApcString:
                break;
        }
    }

    private void StepC1(int cp)
    {
        switch (cp)
        {
            case 0x90:
                Transition(VtState.DcsEntry);
                break;
            case 0x9B:
                Transition(VtState.CsiEntry);
                break;
            case 0x9C:
                Transition(VtState.Ground);
                break;
            case 0x9D:
                Transition(VtState.OscString);
                break;
            case 0x98 or 0x9E or 0x9F:
                Transition(VtState.SosPmApcString);
                break;
            default:
                Transition(VtState.Ground);
                _handler.Execute(cp);
                break;
        }
    }

    /// <summary>Leaves the current state (its exit action) and enters the next (its entry action).</summary>
    private void Transition(VtState next)
    {
        switch (_state)
        {
            case VtState.DcsPassthrough:
                _handler.Unhook();
                break;
            case VtState.OscString:
                _handler.OscEnd();
                break;
        }

        _state = next;
        switch (next)
        {
            case VtState.Escape:
            case VtState.CsiEntry:
            case VtState.DcsEntry:
                Clear();
                break;
            case VtState.OscString:
                _handler.OscStart();
                break;
        }
    }

    private void Clear()
    {
        _paramCount = 0;
        _paramStarted = false;
        _subParameterMask = 0;
        _tooMany = false;
        _intermediateCount = 0;
    }

    private ReadOnlySpan<char> Intermediates => _intermediates.AsSpan(0, _intermediateCount);

    private void Collect(int cp)
    {
        if (_intermediateCount < MaxIntermediates)
        {
            _intermediates[_intermediateCount++] = (char)cp;
        }
        else
        {
            _tooMany = true;
        }
    }

    private void Param(int cp)
    {
        if (!_paramStarted)
        {
            _paramStarted = true;
            _params[0] = 0;
            _paramCount = 1;
        }

        if (cp is ';' or ':')
        {
            if (_paramCount < MaxParameters)
            {
                if (cp == ':')
                {
                    _subParameterMask |= 1u << _paramCount;
                }

                _params[_paramCount++] = 0;
            }
            else
            {
                _tooMany = true;
            }

            return;
        }

        ref int p = ref _params[_paramCount - 1];
        p = Math.Min(MaxParameterValue, (p * 10) + (cp - '0'));
    }

    private void CsiDispatch(char final)
    {
        if (!_tooMany)
        {
            _handler.CsiDispatch(_params.AsSpan(0, _paramCount), Intermediates, final, _subParameterMask);
        }
    }

    private void Hook(char final)
    {
        _state = VtState.DcsPassthrough;
        if (_tooMany)
        {
            _state = VtState.DcsIgnore;
            return;
        }

        _handler.Hook(_params.AsSpan(0, _paramCount), Intermediates, final);
    }
}

/// <summary>The states of the DEC ANSI parser's diagram.</summary>
public enum VtState
{
    Ground,
    Escape,
    EscapeIntermediate,
    CsiEntry,
    CsiParam,
    CsiIntermediate,
    CsiIgnore,
    DcsEntry,
    DcsParam,
    DcsIntermediate,
    DcsPassthrough,
    DcsIgnore,
    OscString,
    SosPmApcString,
}
