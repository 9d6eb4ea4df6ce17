using Orchflow.Server.Terminals;

namespace Orchflow.Server.Tests;

/// <summary>What a terminal sends by itself (focus, replies to queries) is told apart from what a person types.</summary>
[Trait("Tier", "unit")]
public sealed class TerminalReportsTests
{
    [Theory]
    [InlineData("\u001b[I")]
    [InlineData("\u001b[O")]
    [InlineData("\u001b[I\u001b[O\u001b[I")]
    [InlineData("\u001b[24;80R")]
    [InlineData("\u001b[?12;4R")]
    [InlineData("\u001b[0n")]
    [InlineData("\u001b[?1;2c")]
    [InlineData("\u001b[>0;276;0c")]
    [InlineData("\u001b[?2004;1$y")]
    [InlineData("\u001b[?0u")]
    [InlineData("\u001b[4;768;1024t")]
    [InlineData("\u001bP>|xterm.js(5.5.0)\u001b\\")]
    [InlineData("\u001bP1$r0m\u001b\\")]
    [InlineData("\u001b]11;rgb:1e1e/1e1e/1e1e\u001b\\")]
    [InlineData("\u001b]10;rgb:cccc/cccc/cccc\u0007")]
    [InlineData("\u001b[I\u001b]11;rgb:0000/0000/0000\u001b\\\u001b[?1;2c")]
    public void A_terminals_own_reports_are_not_typing(string input) => Assert.True(TerminalReports.OnlyReports(input));

    [Theory]
    [InlineData("")]
    [InlineData("y")]
    [InlineData("\r")]
    [InlineData("\u001b[B\r")]
    [InlineData("\u001b[A")]
    [InlineData("\u001b")]
    [InlineData("1")]
    [InlineData("\u001b[200~fix the bug\u001b[201~")]
    [InlineData("\u001b[I2")]
    [InlineData("\u001b[<0;10;5M")]
    [InlineData("\u0003")]
    public void Keys_a_person_types_are_typing(string input) => Assert.False(TerminalReports.OnlyReports(input));
}
