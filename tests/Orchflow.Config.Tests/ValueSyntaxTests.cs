using System.Text.RegularExpressions;

namespace Orchflow.Config.Tests;

[Trait("Tier", "unit")]
public sealed class ValueSyntaxTests
{
    private const long KiB = 1024;
    private const long MiB = 1024 * KiB;
    private const long GiB = 1024 * MiB;
    private const long TiB = 1024 * GiB;

    public static TheoryData<string, long> Sizes => new()
    {
        { "4GB", 4 * GiB },
        { "4GiB", 4 * GiB },
        { "4gb", 4 * GiB },
        { "4G", 4 * GiB },
        { "4Gi", 4 * GiB },
        { "4 GB", 4 * GiB },
        { "512MB", 512 * MiB },
        { "1.5GiB", 3 * GiB / 2 },
        { "100KB", 100 * KiB },
        { "2TB", 2 * TiB },
        { "1024", 1024 },
        { "100B", 100 },
        { "0", 0 },
        { "1.0001KB", 1024 }, // fractions of a byte are truncated
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void ParsesSizes(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, out var parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("4XB")]
    [InlineData("GB")]
    [InlineData("-1")]
    [InlineData("1.5.5")]
    [InlineData(" 4GB")]
    [InlineData("4GB ")]
    [InlineData("4  GB")]
    [InlineData("4GBB")]
    [InlineData("1e3")]
    [InlineData("4 gigabytes")]
    [InlineData("99999999999TB")]
    [InlineData("99999999999999999999999999999999")]
    public void RejectsMalformedSizes(string text) => Assert.False(ByteSize.TryParse(text, out _));

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(100, "100 B")]
    [InlineData(1536, "1.5 KiB")]
    [InlineData(1024 * 1024, "1 MiB")]
    [InlineData(4L * 1024 * 1024 * 1024, "4 GiB")]
    [InlineData(1_000_000_000, "953.67 MiB")]
    [InlineData(long.MaxValue, "8 EiB")]
    public void FormatsSizes(long bytes, string text) => Assert.Equal(text, ByteSize.Format(bytes));

    [Theory]
    [InlineData(1536)]
    [InlineData(512L * 1024 * 1024)]
    [InlineData(16L * 1024 * 1024 * 1024)]
    public void FormattedSizesParseBack(long bytes)
    {
        Assert.True(ByteSize.TryParse(ByteSize.Format(bytes), out var parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("30s", 30)]
    [InlineData("15m", 15 * 60)]
    [InlineData("2h", 2 * 3600)]
    [InlineData("7d", 7 * 86400)]
    [InlineData("1h30m", 5400)]
    [InlineData("0s", 0)]
    public void ParsesDurations(string text, long seconds)
    {
        Assert.True(DurationText.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
        Assert.True(DurationText.TryParse(DurationText.Format(value), out var again));
        Assert.Equal(value, again);
    }

    [Theory]
    [InlineData("")]
    [InlineData("30")]
    [InlineData("7 days")]
    [InlineData("1.5h")]
    [InlineData("30S")]
    [InlineData("h")]
    [InlineData("-5m")]
    [InlineData("off")]
    [InlineData("99999999999999999d")]
    public void RejectsMalformedDurations(string text) => Assert.False(DurationText.TryParse(text, out _));

    [Theory]
    [InlineData(90, "1m30s")]
    [InlineData(86400 + 3600, "1d1h")]
    [InlineData(0, "0s")]
    public void FormatsDurations(long seconds, string text) => Assert.Equal(text, DurationText.Format(TimeSpan.FromSeconds(seconds)));

    /// <summary>Editors validate with the schema's pattern, the daemon with TryParse; they must agree on syntax.</summary>
    [Theory]
    [InlineData("4GB")]
    [InlineData("4 gib")]
    [InlineData("1.5GiB")]
    [InlineData("100B")]
    [InlineData("7")]
    [InlineData("4XB")]
    [InlineData("GB")]
    [InlineData("4  GB")]
    [InlineData("4GBB")]
    [InlineData(" 4GB")]
    [InlineData("1e3")]
    [InlineData("1.")]
    public void SchemaPatternAgreesWithSizeParser(string text) =>
        Assert.Equal(ByteSize.TryParse(text, out _), Regex.IsMatch(text, ByteSize.Pattern, RegexOptions.ECMAScript));

    [Theory]
    [InlineData("30s")]
    [InlineData("1h30m")]
    [InlineData("30")]
    [InlineData("7 days")]
    [InlineData("1.5h")]
    [InlineData("30S")]
    [InlineData("")]
    public void SchemaPatternAgreesWithDurationParser(string text) =>
        Assert.Equal(DurationText.TryParse(text, out _), Regex.IsMatch(text, DurationText.Pattern, RegexOptions.ECMAScript));

    [Fact]
    public void DiagnosticToStringIsCompilerStyle()
    {
        Assert.Equal("a.json:3:7: error: boom", new ConfigDiagnostic("a.json", 3, 7, "boom", DiagnosticSeverity.Error).ToString());
        Assert.Equal("b.toml:1:2: warning: hm", new ConfigDiagnostic("b.toml", 1, 2, "hm", DiagnosticSeverity.Warning).ToString());
    }
}
