using System.Diagnostics;

namespace Orchflow.Tests;

/// <summary>
/// Waits for a condition by checking it again and again, for states that nothing announces (a process's state in
/// /proc, a file appearing, a control group's counters, a terminal's text). The only polling loop of the tests, so
/// every wait has a deadline: it fails after <see cref="Deadline"/> (or the caller's), saying what it waited for.
/// Linked into each test project (tests/Shared).
/// </summary>
internal static class Poll
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    public static Task UntilAsync(Func<bool> condition, string what, int intervalMs = 50, TimeSpan? deadline = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, intervalMs, deadline);

    public static Task UntilAsync(Func<Task<bool>> condition, string what, int intervalMs = 50, TimeSpan? deadline = null) =>
        UntilAsync(condition, held => held, _ => Task.FromResult($"Timed out waiting until {what}."), deadline, intervalMs);

    /// <summary>
    /// Probes until <paramref name="done"/> holds for what <paramref name="probe"/> returns, and returns that; on the
    /// deadline, fails with <paramref name="failure"/> of the last value (what the terminal showed, the agent's state).
    /// </summary>
    public static Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, Func<T, string> failure, TimeSpan? deadline = null, int intervalMs = 50) =>
        UntilAsync(probe, done, last => Task.FromResult(failure(last)), deadline, intervalMs);

    /// <summary>As above, for a failure message that needs a call of its own (reading a terminal, asking the daemon).</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, Func<T, Task<string>> failure, TimeSpan? deadline = null, int intervalMs = 50)
    {
        var (held, last) = await LoopAsync(probe, done, deadline ?? Deadline, intervalMs);
        return held ? last : throw new TimeoutException(await failure(last));
    }

    /// <summary>
    /// Whether <paramref name="condition"/> came to hold within <paramref name="grace"/>, for a test that judges the
    /// outcome itself afterwards (an attack's effect given a moment to show, processes given a moment to end).
    /// </summary>
    public static async Task<bool> WithinAsync(Func<bool> condition, TimeSpan grace, int intervalMs = 50) =>
        (await LoopAsync(() => Task.FromResult(condition()), held => held, grace, intervalMs)).Held;

    private static async Task<(bool Held, T Last)> LoopAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan deadline, int intervalMs)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return (true, value);
            }

            if (sw.Elapsed > deadline)
            {
                return (false, value);
            }

            await Task.Delay(intervalMs);
        }
    }
}
