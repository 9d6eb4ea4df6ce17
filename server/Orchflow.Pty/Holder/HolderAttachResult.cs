namespace Orchflow.Pty.Holder;

/// <summary>
/// The outcome of <see cref="HolderPtyBackend.Attach"/>. A holder of another protocol version and a holder that cannot
/// be reached are values, not exceptions: the daemon reports each and goes on adopting the others.
/// </summary>
public abstract record HolderAttachResult
{
    private HolderAttachResult()
    {
    }

    /// <summary>Connected; the caller owns <paramref name="Process"/> (reading starts with <see cref="IPtyProcess.Start"/>).</summary>
    public sealed record Attached(HolderPtyProcess Process) : HolderAttachResult;

    /// <summary>
    /// The holder speaks another protocol version. It keeps running until its terminal ends; nothing was changed.
    /// </summary>
    /// <param name="Message">A sentence for the user, naming both versions and the processes.</param>
    public sealed record Incompatible(int Version, int HolderPid, int ChildPid, string Message) : HolderAttachResult;

    /// <summary>Nothing listens there (a holder that has gone), or the holder refused this client.</summary>
    /// <param name="Message">A sentence for the user, naming the socket and why.</param>
    public sealed record Unreachable(string Message) : HolderAttachResult;
}
