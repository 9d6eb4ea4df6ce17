using Orchflow.Protocol;
using Orchflow.Server.Memory;

namespace Orchflow.Server.Tests;

/// <summary>The rules of a memory entry on their own (<see cref="MemoryRules"/>): what each refuses, and the message that says why.</summary>
[Trait("Tier", "unit")]
public sealed class MemoryRulesTests
{
    private static readonly MemoryLimits NoDefault = new(1000, 100, MemoryWhenFull.EvictLru, null);

    private static void Refused(int code, Action rule, string fragment)
    {
        var e = Assert.Throws<OrchflowException>(rule);
        Assert.Equal(code, e.Code);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(e.Hint), "every refusal says what to do");
    }

    [Theory]
    [InlineData(" ")]
    [InlineData(" padded")]
    [InlineData("padded ")]
    [InlineData("a,b")]
    [InlineData("bell\a")]
    [InlineData("65 chars")]
    public void Bad_tags_are_refused_naming_the_tag(string tag)
    {
        tag = tag == "65 chars" ? new string('t', MemoryRules.MaxTagChars + 1) : tag;
        Refused(ErrorCodes.InvalidArgument, () => MemoryRules.ValidateTags([tag]), "is not allowed: tags are 1 to 64 printable characters");
    }

    [Fact]
    public void Tags_keep_their_order_without_repeats_up_to_the_maximum()
    {
        Assert.Equal(["b", "a", "B"], MemoryRules.ValidateTags(["b", "a", "b", "B", "a"]));
        Assert.Empty(MemoryRules.ValidateTags(null));
        var most = Enumerable.Range(0, MemoryRules.MaxTags).Select(i => $"t{i}").ToList();
        Assert.Equal(most, MemoryRules.ValidateTags([.. most, "t0"]));
        Refused(ErrorCodes.InvalidArgument, () => MemoryRules.ValidateTags([.. most, "one-more"]), "at most 32 tags; 33 were given");
        Assert.Equal(new string('t', MemoryRules.MaxTagChars), MemoryRules.ValidateTags([new string('t', MemoryRules.MaxTagChars)]).Single());
    }

    [Fact]
    public void A_key_is_held_to_its_bytes_and_to_printable_characters_and_a_prefix_is_named_as_such()
    {
        MemoryRules.ValidateKey(new string('é', MemoryRules.MaxKeyBytes / 2)); // 512 bytes in UTF-8
        Refused(ErrorCodes.InvalidArgument, () => MemoryRules.ValidateKey(new string('é', (MemoryRules.MaxKeyBytes / 2) + 1)), "The key is 514 bytes long");
        Refused(ErrorCodes.InvalidArgument, () => MemoryRules.ValidateKey("del\x7f"), "control character (U+007F)");
        Refused(ErrorCodes.InvalidArgument, () => MemoryRules.ValidateKey(null), "The key is empty.");
        Refused(ErrorCodes.InvalidArgument, () => MemoryRules.ValidateKey("", "prefix"), "The prefix is empty.");
        Refused(ErrorCodes.InvalidArgument, () => MemoryRules.ValidateKey("a\nb", "prefix"), "The prefix contains a control character (U+000A)");
    }

    [Fact]
    public void A_value_must_be_present_unicode_and_json_when_its_kind_says_so()
    {
        MemoryRules.ValidateValue("", MemoryValueKind.Text);
        MemoryRules.ValidateValue("{not json", MemoryValueKind.Text);
        MemoryRules.ValidateValue("[1, {\"a\": null}]", MemoryValueKind.Json);
        Refused(ErrorCodes.InvalidArgument, () => MemoryRules.ValidateValue(null, MemoryValueKind.Text), "The value is missing.");
        Refused(ErrorCodes.InvalidArgument, () => MemoryRules.ValidateValue("a\ud800", MemoryValueKind.Text), "not valid Unicode text");
        Refused(ErrorCodes.InvalidArgument, () => MemoryRules.ValidateValue("", MemoryValueKind.Json), "not valid JSON");
        MemoryRules.ValidateValue(new string('x', MemoryRules.MaxValueBytes), MemoryValueKind.Text);
    }

    [Theory]
    [InlineData(null, 100)]
    [InlineData(1, 1)]
    [InlineData(10_000, 10_000)]
    [InlineData(0, -1)]
    [InlineData(-5, -1)]
    [InlineData(10_001, -1)]
    public void The_limit_of_a_search_or_page_is_from_1_to_10000_and_100_when_not_given(int? given, int expected)
    {
        if (expected > 0)
        {
            Assert.Equal(expected, MemoryRules.ValidateLimit(given));
        }
        else
        {
            Refused(ErrorCodes.InvalidArgument, () => MemoryRules.ValidateLimit(given), $"The limit must be from 1 to 10000, got {given}.");
        }
    }

    [Fact]
    public void The_time_to_live_is_the_one_asked_for_zero_for_never_or_the_workspace_default()
    {
        var minute = NoDefault with { DefaultTtl = TimeSpan.FromMinutes(1) };
        Assert.Equal(10, MemoryRules.Ttl(10, minute));
        Assert.Null(MemoryRules.Ttl(0, minute));
        Assert.Equal(60, MemoryRules.Ttl(null, minute));
        Assert.Null(MemoryRules.Ttl(null, NoDefault));
        Assert.Null(MemoryRules.Ttl(null, NoDefault with { DefaultTtl = TimeSpan.Zero }));
        Assert.Equal(MemoryRules.MaxTtlSeconds, MemoryRules.Ttl(MemoryRules.MaxTtlSeconds, NoDefault));
        Refused(ErrorCodes.InvalidArgument, () => MemoryRules.Ttl(MemoryRules.MaxTtlSeconds + 1, NoDefault), "The time to live must be from 0 to 3153600000 seconds");
        Refused(ErrorCodes.InvalidArgument, () => MemoryRules.Ttl(-1, minute), "got -1");
    }

    [Fact]
    public void An_entry_is_sized_in_utf8_bytes_and_may_take_the_whole_memory_but_no_more()
    {
        Assert.Equal(3 + 3 + 2 + 2, MemoryRules.SizeOf("ké", "abc", ["tg", "é"]));
        MemoryRules.CheckFits(100, NoDefault, "ws");
        Refused(ErrorCodes.LimitReached, () => MemoryRules.CheckFits(101, NoDefault, "ws"), "The entry takes 101 bytes, more than the whole memory of workspace 'ws' (100 bytes");
    }
}
