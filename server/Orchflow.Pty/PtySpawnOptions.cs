namespace Orchflow.Pty;

/// <summary>
/// What to run in a new pseudo-terminal.
/// </summary>
/// <param name="File">
/// The program. A name without a slash is looked up on the <c>PATH</c> of <paramref name="Environment"/>
/// (not the daemon's); a name with a slash is taken relative to <paramref name="WorkingDirectory"/>.
/// It is also passed as <c>argv[0]</c>.
/// </param>
/// <param name="Arguments">The arguments after <c>argv[0]</c>.</param>
/// <param name="WorkingDirectory">An absolute path; the child starts there.</param>
/// <param name="Environment">
/// The complete environment of the child. Nothing is inherited from the daemon.
/// </param>
/// <param name="Columns">Initial width in character cells.</param>
/// <param name="Rows">Initial height in character cells.</param>
public sealed record PtySpawnOptions(
    string File,
    IReadOnlyList<string> Arguments,
    string WorkingDirectory,
    IReadOnlyDictionary<string, string> Environment,
    ushort Columns = 80,
    ushort Rows = 24)
{
    /// <summary>
    /// A program that runs the command for us, such as a sandbox (<c>bwrap … --</c>): its absolute path and its
    /// arguments. When set, <see cref="File"/> is still resolved on the child's PATH first (so a missing program stays
    /// a synchronous failure), and then the launcher is executed with the resolved path and <see cref="Arguments"/>
    /// appended. The launcher becomes the session leader and must keep the terminal as its controlling terminal.
    /// </summary>
    public IReadOnlyList<string>? Launcher { get; init; }

    /// <summary>
    /// When set (an absolute, canonical directory), the working directory is opened once, checked to be this
    /// directory or inside it as opened (symlinks resolved), and entered through that descriptor (fchdir): a symlink
    /// swapped in after the caller's own check cannot move the child elsewhere.
    /// </summary>
    public string? ConfineWorkingDirectoryTo { get; init; }
}
