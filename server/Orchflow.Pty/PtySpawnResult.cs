namespace Orchflow.Pty;

/// <summary>
/// The outcome of <see cref="IPtyBackend.Spawn"/>. A launch that fails because of what the user
/// configured (a missing program, a missing directory) is a value, not an exception, so the
/// caller can show it in the terminal the way VS Code shows an <c>ITerminalLaunchError</c>.
/// </summary>
public abstract record PtySpawnResult
{
    private PtySpawnResult()
    {
    }

    /// <summary>The child is running in a new terminal; the caller owns <paramref name="Process"/>.</summary>
    public sealed record Success(IPtyProcess Process) : PtySpawnResult;

    /// <summary>Nothing was started and nothing is left open.</summary>
    /// <param name="Message">A sentence meant for the user, naming what was wrong.</param>
    /// <param name="Errno">The POSIX error number behind the failure, when there is one.</param>
    public sealed record Failure(string Message, int? Errno) : PtySpawnResult;
}
