namespace Orchflow.Pty.Tests;

/// <summary>
/// Counts descriptors and zombies of the whole test process, so nothing else may spawn meanwhile.
/// </summary>
[CollectionDefinition(nameof(StressTests), DisableParallelization = true)]
public sealed class StressCollection;

[Collection(nameof(StressTests))]
[Trait("Tier", "unit")]
public sealed class StressTests
{
    [Fact]
    public async Task A_thousand_short_lived_terminals_leave_no_zombie_and_no_descriptor()
    {
        const int count = 1000;

        // Warm up once so lazily opened runtime descriptors are not counted as leaks.
        await RunOne();
        var descriptorsBefore = Proc.OpenDescriptorCount();

        // About 3 s on an idle two-core machine, 10 s with both cores saturated; the duration is
        // not asserted, as it measures the machine more than the code.
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (_, _) => await RunOne());

        Assert.Empty(Proc.ZombieChildrenOfThisProcess());
        Assert.InRange(Proc.OpenDescriptorCount(), 0, descriptorsBefore + 4);
    }

    private static async Task RunOne()
    {
        using var session = PtySession.Start("true");
        var exit = await session.WaitForExit();
        Assert.Equal(0, exit.ExitCode);
        await session.Output.Ended.WaitAsync(Timeouts.Default);
    }
}
