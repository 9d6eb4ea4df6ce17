using System.Reflection;

namespace Orchflow.Tests;

/// <summary>
/// Every test class carries exactly one tier, as an xunit trait on the class (<c>[Trait("Tier", "unit")]</c>), so each
/// tier can be run alone: <c>dotnet test --filter "Tier=unit|Tier=rpc"</c>, and ORCHFLOW_TEST_TIERS in scripts/test.sh.
/// <list type="bullet">
/// <item><c>unit</c>: in-process, no daemon, no connection to one (the PTY library's own processes count).</item>
/// <item><c>rpc</c>: client and server joined in-process over in-memory streams.</item>
/// <item><c>e2e</c>: the real daemon or CLI started as processes, over their real sockets.</item>
/// <item><c>slow</c>: the long ones, whatever their kind, a minute or more alone: the 1 GiB flood, the 100 kill -9 runs,
/// the escape and tamper suites (a real daemon per row), the agent CLI's.</item>
/// </list>
/// A class takes the tier of its heaviest test: one test that starts the daemon makes it e2e.
/// Linked into each test project (tests/Shared); it checks the assembly it is compiled into.
/// </summary>
[Trait("Tier", "unit")]
public sealed class TierTests
{
    public const string TraitName = "Tier";

    public static readonly IReadOnlyList<string> Tiers = ["unit", "rpc", "e2e", "slow"];

    [Fact]
    public void Every_test_class_has_exactly_one_tier()
    {
        var wrong = TestClasses()
            .Select(t => (Type: t, Tiers: TierValues(t.GetCustomAttributesData())))
            .Where(c => c.Tiers.Count != 1 || !Tiers.Contains(c.Tiers[0]))
            .Select(c => $"{c.Type.FullName}: {(c.Tiers.Count == 0 ? "no tier" : string.Join(", ", c.Tiers))}")
            .ToList();
        Assert.True(wrong.Count == 0, $"Each test class needs exactly one [Trait(\"{TraitName}\", …)] of {string.Join(", ", Tiers)}:\n{string.Join('\n', wrong)}");
    }

    [Fact]
    public void No_test_method_has_a_tier_of_its_own()
    {
        var wrong = TestClasses()
            .SelectMany(t => t.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(m => TierValues(m.GetCustomAttributesData()).Count > 0)
            .Select(m => $"{m.DeclaringType!.FullName}.{m.Name}")
            .ToList();
        Assert.True(wrong.Count == 0, $"The tier is the class's; move these tests to a class of their tier:\n{string.Join('\n', wrong)}");
    }

    /// <summary>The classes of this assembly with a test method (Fact, Theory and the tests' own attributes derived from them).</summary>
    private static IEnumerable<Type> TestClasses() =>
        typeof(TierTests).Assembly.GetTypes().Where(t => t.IsClass && !t.IsAbstract && t
            .GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            .Any(m => m.GetCustomAttributes<FactAttribute>(inherit: true).Any()));

    private static List<string> TierValues(IEnumerable<CustomAttributeData> attributes) => attributes
        .Where(a => a.AttributeType == typeof(TraitAttribute) && (string?)a.ConstructorArguments[0].Value == TraitName)
        .Select(a => (string?)a.ConstructorArguments[1].Value ?? "")
        .ToList();
}
