namespace Orchflow.Pty;

/// <summary>
/// Receives a terminal's output. Both methods are called from the terminal's single reader
/// thread, never concurrently, and <see cref="OnEnd"/> at most once, after the last
/// <see cref="OnData"/>.
/// </summary>
/// <remarks>
/// The methods should return quickly and must not throw: an exception from the sink stops reading
/// for that terminal (no further calls are made) rather than tearing down the daemon, and the
/// child then blocks once the kernel's terminal buffer is full, until the owner disposes it.
/// To slow the producer down, call <see cref="IPtyProcess.PauseReading"/> instead of blocking here.
/// </remarks>
public interface IPtyOutputSink
{
    /// <summary>
    /// Bytes read from the terminal. The span is only valid during the call: copy what you keep.
    /// </summary>
    void OnData(ReadOnlySpan<byte> data);

    /// <summary>
    /// No more output will come: every process closed the terminal, or the PTY was disposed.
    /// </summary>
    void OnEnd();
}

/// <summary>
/// A program running in a pseudo-terminal, owned by the caller of <see cref="IPtyBackend.Spawn"/>.
/// All members are safe to call from any thread.
/// </summary>
public interface IPtyProcess : IDisposable
{
    /// <summary>
    /// The process id of the first process, which is also its process group id and session id.
    /// </summary>
    int Pid { get; }

    /// <summary>The path of the terminal's slave side, such as <c>/dev/pts/3</c>.</summary>
    string? PtsName { get; }

    /// <summary>
    /// Completes when the first process has ended and been reaped, after its output has been
    /// delivered to the sink or a short grace period has passed (the grace period matters when
    /// reading is paused or a background process keeps the terminal open). Never faults.
    /// </summary>
    Task<PtyExit> Exited { get; }

    /// <summary>
    /// Starts the reader thread, which delivers output to <paramref name="sink"/>. Call it once;
    /// output produced before the call waits in the kernel's buffer.
    /// </summary>
    /// <exception cref="InvalidOperationException">When called a second time.</exception>
    /// <exception cref="ObjectDisposedException">After <see cref="IDisposable.Dispose"/>.</exception>
    void Start(IPtyOutputSink sink);

    /// <summary>
    /// Stops reading after the read in progress, so the kernel's buffer fills and the child
    /// blocks on its next write: memory stays bounded and no byte is lost. Idempotent.
    /// </summary>
    void PauseReading();

    /// <summary>Undoes <see cref="PauseReading"/>. Idempotent.</summary>
    void ResumeReading();

    /// <summary>
    /// Writes input to the terminal, as if typed (0x03 is Ctrl+C). Blocks while the terminal's
    /// input buffer is full. Writes after the terminal's processes have all gone are dropped.
    /// </summary>
    /// <exception cref="ObjectDisposedException">After <see cref="IDisposable.Dispose"/>.</exception>
    /// <exception cref="IOException">On an unexpected error from the kernel.</exception>
    void Write(ReadOnlySpan<byte> data);

    /// <summary>
    /// Sets the terminal's size; the kernel sends SIGWINCH to its foreground process group.
    /// </summary>
    void Resize(ushort columns, ushort rows);

    /// <summary>
    /// Sends <paramref name="signal"/> to the process group of the first process (the whole
    /// group, like a terminal does). Signalling a group that has already gone is not an error.
    /// </summary>
    void Signal(int signal);

    /// <summary>
    /// Ends every process in the terminal's session or below its first process, including
    /// background and <c>nohup</c> children: SIGHUP and SIGTERM first, then SIGKILL for whatever
    /// is still alive after a short grace period. Blocks until done (at most about a second).
    /// A process that moved to a new session and was reparented away cannot be found.
    /// </summary>
    void KillTree();
}
