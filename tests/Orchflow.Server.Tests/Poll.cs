using System.Diagnostics;

namespace Orchflow.Server.Tests;

/// <summary>
/// Waits for a condition by checking it again and again, for states that nothing announces (a process's state in
/// /proc, a file appearing, a control group's counters). Fails after <see cref="Deadline"/>, saying what it waited for.
/// </summary>
internal static class Poll
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static Task UntilAsync(Func<bool> condition, string what, int intervalMs = 50) =>
        UntilAsync(() => Task.FromResult(condition()), what, intervalMs);

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, int intervalMs = 50)
    {
        var sw = Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > Deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(intervalMs);
        }
    }
}
