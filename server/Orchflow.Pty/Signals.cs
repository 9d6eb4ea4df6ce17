namespace Orchflow.Pty;

/// <summary>
/// The job-control signals Orchflow sends to a whole session (<see cref="ProcessTree.Signal"/>): pausing an agent and
/// suspending a workspace without a cgroup freezer. Linux numbers them alike on x86_64 and aarch64.
/// </summary>
public static class Signals
{
    /// <summary>Stops a process; it cannot be caught or ignored.</summary>
    public const int SIGSTOP = 19;

    /// <summary>Continues a stopped process.</summary>
    public const int SIGCONT = 18;
}
