using System.Text;
using Orchflow.Protocol;
using Orchflow.Server.Terminals;
using Xunit;

namespace Orchflow.Server.Tests;

/// <summary>
/// The terminal decodes PTY bytes straight into the published text (no character buffer of its own): characters split
/// across reads, invalid bytes and a read as large as the PTY layer's buffer must all come out as a decoder would give them.
/// </summary>
[Trait("Tier", "unit")]
public sealed class TerminalDecodingTests
{
    private static Terminal NewTerminal() => new(new TerminalInfo
    {
        Id = "t-1",
        WorkspaceId = "w",
        Namespace = "w",
        Name = "shell 1",
        Purpose = TerminalPurpose.Shell,
        Command = ["/bin/sh"],
        Cwd = "/",
        Status = TerminalStatus.Running,
        Columns = 80,
        Rows = 24,
        CreatedAt = DateTimeOffset.UnixEpoch,
        AttachedClients = 0,
    }, 1024 * 1024, _ => { });

    private static void Feed(Terminal t, byte[] bytes, params int[] cuts)
    {
        int start = 0;
        foreach (var cut in cuts.Append(bytes.Length))
        {
            t.OnData(bytes.AsSpan(start, cut - start));
            start = cut;
        }
    }

    [Fact]
    public void A_character_split_across_reads_is_kept_whole()
    {
        var text = "a€b😀c";
        var bytes = Encoding.UTF8.GetBytes(text);
        var t = NewTerminal();

        // "€" is bytes 1..3 and "😀" bytes 5..8: cut inside both, one byte at a time through the emoji.
        Feed(t, bytes, 2, 3, 6, 7, 8);

        Assert.Equal(text, t.ScrollbackText());
        Assert.Equal(text.Length, t.Seq);
    }

    [Fact]
    public void Reads_of_only_part_of_a_character_publish_nothing_until_it_is_complete()
    {
        var bytes = Encoding.UTF8.GetBytes("€");
        var t = NewTerminal();

        t.OnData(bytes.AsSpan(0, 1));
        t.OnData(bytes.AsSpan(1, 1));
        Assert.Equal("", t.ScrollbackText());
        Assert.Equal(0, t.Seq);

        t.OnData(bytes.AsSpan(2, 1));
        Assert.Equal("€", t.ScrollbackText());
    }

    [Fact]
    public void Invalid_bytes_and_a_truncated_character_at_the_end_become_replacement_characters()
    {
        var t = NewTerminal();
        t.OnData([(byte)'x', 0xFF, (byte)'y', 0xE2, 0x82]);
        t.OnEnd();

        Assert.Equal("x\uFFFDy\uFFFD", t.ScrollbackText());
    }

    [Fact]
    public void A_read_as_large_as_the_pty_buffer_is_decoded_whole()
    {
        var line = "ligne é ✓ 😀\n";
        var text = new StringBuilder();
        while (Encoding.UTF8.GetByteCount(text.ToString()) < 64 * 1024)
        {
            text.Append(line);
        }

        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        var t = NewTerminal();
        Feed(t, bytes, 64 * 1024 - 1);

        Assert.Equal(text.ToString(), t.ScrollbackText());
    }
}
