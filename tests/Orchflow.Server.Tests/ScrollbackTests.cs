using System.Text;
using Orchflow.Server.Terminals;
using Xunit;

namespace Orchflow.Server.Tests;

[Trait("Tier", "unit")]
public sealed class ScrollbackTests
{
    [Fact]
    public void A_new_ring_is_small_and_grows_only_as_output_arrives()
    {
        var s = new Scrollback(1024 * 1024);
        Assert.Equal(Scrollback.InitialChars, s.Allocated);

        s.Append(new string('a', 10_000));
        Assert.InRange(s.Allocated, 10_000, 32 * 1024);
        Assert.Equal(new string('a', 10_000), s.Snapshot());
    }

    [Fact]
    public void Growth_keeps_every_character_in_order()
    {
        var s = new Scrollback(100_000);
        var expected = new StringBuilder();
        for (int i = 0; i < 3000; i++)
        {
            var line = $"line {i}\n";
            s.Append(line);
            expected.Append(line);
        }

        Assert.Equal(expected.ToString(), s.Snapshot());
    }

    [Fact]
    public void Once_full_it_keeps_the_last_characters_from_a_line_start_and_never_outgrows_its_capacity()
    {
        var s = new Scrollback(10_000);
        for (int i = 0; i < 5000; i++)
        {
            s.Append($"row {i:D5}\n");
        }

        Assert.Equal(10_000, s.Allocated);
        Assert.Equal(10_000, s.Length);
        var text = s.Snapshot();
        Assert.StartsWith("row ", text);
        Assert.EndsWith("row 04999\n", text);
    }

    [Fact]
    public void A_chunk_larger_than_the_capacity_leaves_its_tail()
    {
        var s = new Scrollback(5000);
        s.Append("head\n");
        s.Append(new string('x', 6000) + "\nend\n");
        Assert.Equal(5000, s.Length);

        // Full, so the replay starts after the first line break: the cut-off run of x is not shown.
        Assert.Equal("end\n", s.Snapshot());
    }
}
