using Orchflow.Server.Hosting;

namespace Orchflow.Server.Security;

/// <summary>
/// How a program named on a command line becomes a file, for one launch in a workspace: the workspace's PATH, the
/// launch's directory, and the places the workspace's processes can write. A program in such a place is the
/// workspace's own, whatever its name, and a directory there that comes first on a PATH can receive one between the
/// check and the launch; <see cref="CommandPolicy"/> refuses both.
/// </summary>
/// <remarks>
/// The places are judged by location, on the host's view: the workspace's root, the launch's directory (an agent's
/// worktree), Orchflow's data directory (a strict sandbox's private /tmp, shell history and worktrees live there),
/// relative directories, and anything with a directory on the way that every user may write (/tmp, /var/tmp,
/// /dev/shm). Both the path as written and the path with its symlinks resolved are judged, so a symlink in the root
/// that points at /usr/bin is still the workspace's (it can be pointed elsewhere after the check). This does not know
/// what else the workspace's sandbox lets it write: below strict its processes can write the host's files as the
/// daemon's user, which is the filesystem promise, kept at strict.
/// </remarks>
public class ProgramLookup
{
    private readonly string? _workspacePath;
    private readonly string _cwd;

    /// <summary>The places the workspace can write, their symlinks resolved once for the launch.</summary>
    private readonly List<string> _places;

    /// <summary>One launch checks the same PATH directories for every command of its line: each is judged once.</summary>
    private readonly Dictionary<string, string?> _writable = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _files = new(StringComparer.Ordinal);

    /// <param name="workspacePath">PATH in the environment the launch gets.</param>
    /// <param name="cwd">The launch's directory (absolute).</param>
    /// <param name="workspacePlaces">Directories the workspace's processes can write.</param>
    public ProgramLookup(string? workspacePath, string cwd, IReadOnlyList<string> workspacePlaces)
    {
        _workspacePath = workspacePath;
        _cwd = cwd;
        _places = RealPlaces(workspacePlaces);
    }

    /// <summary>For <see cref="CommandPolicy"/>'s own resolver-based adapter.</summary>
    protected ProgramLookup()
        : this(null, "/", [])
    {
    }

    /// <summary>Where glibc's execvp and <c>command -p</c> look when PATH is unset (confstr _CS_PATH).</summary>
    public const string DefaultPath = "/bin:/usr/bin";

    /// <summary>
    /// The file <paramref name="name"/> runs as on <paramref name="searchPath"/> (null: the workspace's PATH), or
    /// why that cannot be vouched for: a directory the workspace can write comes before it (or holds it).
    /// </summary>
    public virtual (string? File, string? Shadow) Find(string name, string? searchPath)
    {
        foreach (var entry in (searchPath ?? _workspacePath ?? DefaultPath).Split(':'))
        {
            var dir = entry.Length == 0 ? "." : entry;
            var candidate = Path.Join(dir, name);
            var file = File(candidate);
            if (Writable(dir) is { } why)
            {
                return (file, $"the PATH entry {Show(entry)} comes first, and {why}");
            }

            if (file is not null)
            {
                return Writable(file) is { } target ? (file, $"{candidate} leads to {file}, and {target}") : (file, null);
            }
        }

        return (null, null);
    }

    /// <summary>
    /// The file <paramref name="name"/> names on the workspace's trusted PATH (its PATH without the places the
    /// workspace can write), or null when it names none: what an allowed name means.
    /// </summary>
    public virtual string? Trusted(string name)
    {
        foreach (var entry in (_workspacePath ?? DefaultPath).Split(':'))
        {
            if (entry.Length == 0 || Writable(entry) is not null)
            {
                continue;
            }

            if (File(Path.Join(entry, name)) is { } file && Writable(file) is null)
            {
                return file;
            }
        }

        return null;
    }

    /// <summary>The canonical executable regular file <paramref name="path"/> (absolute, or relative to the launch's directory) is, or null.</summary>
    public virtual string? File(string path)
    {
        if (_files.TryGetValue(path, out var known))
        {
            return known;
        }

        string? file = null;
        try
        {
            var full = Path.GetFullPath(path, _cwd);
            const UnixFileMode AnyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            if (System.IO.File.Exists(full) && (System.IO.File.GetUnixFileMode(full) & AnyExecute) != 0)
            {
                file = Native.TryRealPath(full) ?? full;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
        }

        _files[path] = file;
        return file;
    }

    /// <summary>Why the workspace can write <paramref name="path"/> (or a directory on the way to it), or null when it cannot.</summary>
    public virtual string? Writable(string path)
    {
        if (!Path.IsPathRooted(path))
        {
            return $"{Show(path)} is relative to the directory the command runs in, which the workspace can write";
        }

        if (!_writable.TryGetValue(path, out var why))
        {
            why = WritableReasonAmong(path, _places);
            _writable[path] = why;
        }

        return why;
    }

    /// <summary>
    /// Why <paramref name="path"/>, or a directory on the way to it, can be written by whoever can write
    /// <paramref name="untrusted"/> or by every user; null when neither. Judged on the path as written and with its
    /// symlinks resolved (the deepest part that exists); a relative path is always writable (it follows the current
    /// directory).
    /// </summary>
    public static string? WritableReason(string path, IEnumerable<string> untrusted) =>
        !Path.IsPathRooted(path) ? $"{Show(path)} is relative to the current directory" : WritableReasonAmong(path, RealPlaces(untrusted));

    private static List<string> RealPlaces(IEnumerable<string> untrusted) => untrusted.Select(r => Native.TryRealPath(r) ?? r).ToList();

    /// <summary><see cref="WritableReason"/> for an absolute <paramref name="path"/>, with the untrusted places' symlinks already resolved.</summary>
    private static string? WritableReasonAmong(string path, List<string> roots)
    {
        var lexical = Path.GetFullPath(path);
        var resolved = Resolved(lexical);
        foreach (var candidate in lexical == resolved ? [lexical] : new[] { lexical, resolved })
        {
            foreach (var root in roots)
            {
                if (Workspaces.GitRepository.IsInside(candidate, root))
                {
                    return $"{candidate} is inside {root}, which the workspace can write";
                }
            }

            string? child = null;
            for (var d = candidate; d is not null; child = d, d = Path.GetDirectoryName(d))
            {
                try
                {
                    // Throws for a path that does not exist (yet): only existing directories can be written into.
                    var mode = System.IO.File.GetUnixFileMode(d);
                    if ((mode & UnixFileMode.OtherWrite) != 0 && !KeptBySticky(mode, child))
                    {
                        return $"{d} can be written by every user";
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
        }

        return null;
    }

    /// <summary>
    /// True when a directory every user may write cannot be used against the entry <paramref name="child"/> that the path
    /// goes through: the directory has the sticky bit (as /tmp has), so others may add entries but not rename or remove
    /// one they do not own, and that entry (a symlink itself, not its target) belongs to root or to the daemon's user.
    /// The directory that is the path's own end is never kept so: anyone could add a program to it.
    /// </summary>
    private static bool KeptBySticky(UnixFileMode mode, string? child)
    {
        if (child is null || (mode & UnixFileMode.StickyBit) == 0)
        {
            return false;
        }

        try
        {
            uint owner = Native.GetOwnerUid(child, followLinks: false);
            return owner == 0 || owner == Native.GetUid();
        }
        catch (IOException)
        {
            return false; // not there yet: whoever creates it first owns it
        }
    }

    /// <summary>The path with its symlinks resolved, as far as it exists; the rest appended as written.</summary>
    private static string Resolved(string path)
    {
        var rest = new Stack<string>();
        for (var d = path; d is not null; d = Path.GetDirectoryName(d))
        {
            if (Native.TryRealPath(d) is { } real)
            {
                return rest.Aggregate(real, Path.Join);
            }

            rest.Push(Path.GetFileName(d));
        }

        return path;
    }

    private static string Show(string entry) => entry.Length == 0 ? "'' (the current directory)" : entry;
}
