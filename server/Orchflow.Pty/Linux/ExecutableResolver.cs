namespace Orchflow.Pty.Linux;

/// <summary>
/// Finds the program to run the way <c>execvp</c> would, but on the child's PATH rather than the
/// daemon's: posix_spawnp searches the caller's PATH, which is the wrong one for a workspace.
/// </summary>
internal static class ExecutableResolver
{
    /// <summary>What execvp searches when PATH is unset (glibc's confstr(_CS_PATH)).</summary>
    internal const string DefaultSearchPath = "/bin:/usr/bin";

    /// <summary>
    /// Returns the absolute path to execute, or the failure to report. <paramref name="workingDirectory"/>
    /// must be absolute: relative names and empty or relative PATH entries resolve against it,
    /// since that is where the child will be when it executes.
    /// </summary>
    public static unsafe (string? Path, PtySpawnResult.Failure? Failure) Resolve(
        string file,
        string workingDirectory,
        IReadOnlyDictionary<string, string> environment)
    {
        if (file.Contains('/'))
        {
            var path = Path.GetFullPath(file, workingDirectory);
            return Check(path) switch
            {
                0 => (path, null),
                LibC.ENOENT => (null, new PtySpawnResult.Failure(
                    $"Program '{file}' was not found ({path} does not exist). Check the command.", LibC.ENOENT)),
                var errno => (null, new PtySpawnResult.Failure(
                    $"Program '{file}' cannot be run ({path}: {LibC.Describe(errno)}). Check that it is an executable file.", errno)),
            };
        }

        var pathSet = environment.TryGetValue("PATH", out var searchPath);
        searchPath = pathSet ? searchPath! : DefaultSearchPath;

        string? notExecutable = null;
        var notExecutableErrno = 0;
        foreach (var entry in searchPath.Split(':'))
        {
            // An empty entry means the current directory, as in every POSIX shell.
            var directory = Path.GetFullPath(entry.Length == 0 ? "." : entry, workingDirectory);
            var candidate = Path.Join(directory, file);
            var errno = Check(candidate);
            if (errno == 0)
            {
                return (candidate, null);
            }

            if (errno != LibC.ENOENT && errno != LibC.ENOTDIR && notExecutable is null)
            {
                notExecutable = candidate;
                notExecutableErrno = errno;
            }
        }

        if (notExecutable is not null)
        {
            return (null, new PtySpawnResult.Failure(
                $"Program '{file}' was found at {notExecutable} but cannot be run ({LibC.Describe(notExecutableErrno)}). Check its permissions.",
                notExecutableErrno));
        }

        var where = pathSet ? $"on PATH ({searchPath})" : $"(PATH is not set; searched {searchPath})";
        return (null, new PtySpawnResult.Failure(
            $"Program '{file}' was not found {where}. Check the command or the workspace's PATH.", LibC.ENOENT));
    }

    /// <summary>0 when <paramref name="path"/> is an executable regular file, otherwise an error number.</summary>
    private static unsafe int Check(string path)
    {
        if (Directory.Exists(path))
        {
            return LibC.EACCES;
        }

        if (!File.Exists(path))
        {
            return LibC.ENOENT;
        }

        fixed (byte* native = LibC.ToUtf8z(path))
        {
            // access() answers for the real uid, which is the uid the child runs as.
            return LibC.access(native, LibC.X_OK) == 0 ? 0 : System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        }
    }
}
