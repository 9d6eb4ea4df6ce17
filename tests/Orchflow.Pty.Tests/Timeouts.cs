namespace Orchflow.Pty.Tests;

/// <summary>
/// Generous limits: the tests wait for events, and these only bound how long a broken build
/// takes to fail on a busy two-core machine.
/// </summary>
internal static class Timeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(10);
}
