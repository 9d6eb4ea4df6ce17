namespace Orchflow.Pty;

/// <summary>
/// How the terminal's first process ended: exactly one of the two values is set, or neither when
/// the status could not be collected (another part of the process reaped the child).
/// </summary>
/// <param name="ExitCode">The exit status, when the process exited.</param>
/// <param name="Signal">The signal number, when a signal terminated the process.</param>
public readonly record struct PtyExit(int? ExitCode, int? Signal);
