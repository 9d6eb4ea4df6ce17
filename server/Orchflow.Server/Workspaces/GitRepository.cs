using System.Runtime.InteropServices;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// A git repository as the daemon finds it by reading files, never by running anything: its work-tree top, its git
/// directory and its common directory (objects, refs and config; the git directory itself for a main repository).
/// </summary>
/// <remarks>
/// A workspace controls every byte inside its root, its <c>.git</c> included, while the daemon reads with the rights of
/// its own user (root here). So nothing read from a repository is taken at its word:
/// <list type="bullet">
/// <item>A <c>.git</c> file or a <c>commondir</c> that leads out of the work tree is followed only when the place it
/// leads to points back at this work tree (git's own back-pointers: a linked worktree's <c>gitdir</c> file, a
/// submodule's <c>core.worktree</c>), which the workspace cannot forge in a place it cannot write. Otherwise a
/// workspace could make the daemon read, and check out into the workspace's reach, another workspace's repository.</item>
/// <item>Every file is opened first and checked as opened (its <c>/proc/self/fd</c> link) to lie inside the
/// repository's directories, so a symlinked ref, <c>HEAD</c> or config cannot make the daemon read another
/// workspace's files on this one's behalf; it is opened non-blocking and read only when it is a regular file, so a
/// FIFO planted as <c>HEAD</c> cannot hang the daemon.</item>
/// </list>
/// </remarks>
public sealed partial record GitRepository(string Top, string GitDir, string CommonDir)
{
    /// <summary>Refs, config and <c>HEAD</c> are small; a packed-refs file of many thousand refs stays well below this.</summary>
    private const long MaxFileBytes = 64L << 20;

    /// <summary>
    /// The repository whose work tree holds <paramref name="folder"/>: the folder itself only, or also its parents (as
    /// <c>git rev-parse --show-toplevel</c> would). Null with a reason when there is none or it is not followed.
    /// </summary>
    public static (GitRepository? Repository, string? Problem) Find(string folder, bool searchParents)
    {
        var dir = Native.TryRealPath(folder);
        while (dir is not null)
        {
            var dotGit = Path.Combine(dir, ".git");
            if (Path.Exists(dotGit))
            {
                return Open(dir, dotGit);
            }

            if (!searchParents || dir == "/")
            {
                break;
            }

            dir = Path.GetDirectoryName(dir);
        }

        return (null, $"{folder} is not inside a git repository");
    }

    private static (GitRepository?, string?) Open(string top, string dotGit)
    {
        string? gitDir;
        var info = new FileInfo(dotGit);
        if (info.LinkTarget is null && Directory.Exists(dotGit))
        {
            gitDir = dotGit;
        }
        else if (info.LinkTarget is null && ReadContained(dotGit, [top]) is { } text)
        {
            var line = text.Split('\n')[0].Trim();
            if (!line.StartsWith("gitdir: ", StringComparison.Ordinal))
            {
                return (null, $"{dotGit} is not a git directory or a 'gitdir:' file");
            }

            gitDir = Native.TryRealPath(Path.GetFullPath(line[8..].Trim(), top));
        }
        else
        {
            gitDir = Native.TryRealPath(dotGit); // a symlinked .git: followed under the same rules as a .git file
        }

        if (gitDir is null || !Directory.Exists(gitDir))
        {
            return (null, $"{dotGit} leads to no git directory");
        }

        bool own = IsInside(gitDir, top);
        if (!own && !PointsBack(gitDir, top))
        {
            return (null, $"{dotGit} leads to {gitDir}, outside {top}, which does not name {top} as its work tree (no 'gitdir' file or core.worktree pointing back), so Orchflow does not follow it");
        }

        var common = gitDir;
        if (ReadContained(Path.Combine(gitDir, "commondir"), [gitDir]) is { } commonText)
        {
            var target = Native.TryRealPath(Path.GetFullPath(commonText.Trim(), gitDir));
            // A linked worktree's admin directory is <common>/worktrees/<name>: the common directory must hold it.
            if (target is null || !IsInside(gitDir, Path.Combine(target, "worktrees")) || (own && !IsInside(target, top) && !PointsBack(gitDir, top)))
            {
                return (null, $"{gitDir}/commondir leads to {target ?? commonText.Trim()}, which is not the repository {gitDir} belongs to");
            }

            common = target;
        }

        return (new GitRepository(top, gitDir, common), null);
    }

    /// <summary>
    /// True when the git directory outside the work tree names <paramref name="top"/> as its own: a linked worktree's
    /// <c>gitdir</c> file is <c>top/.git</c>, or a submodule's (or separate git dir's) <c>core.worktree</c> is top.
    /// </summary>
    private static bool PointsBack(string gitDir, string top)
    {
        if (ReadContained(Path.Combine(gitDir, "gitdir"), [gitDir]) is { } back
            && Native.TryRealPath(Path.GetFullPath(back.Trim(), gitDir)) == Native.TryRealPath(Path.Combine(top, ".git")))
        {
            return true;
        }

        return ReadContained(Path.Combine(gitDir, "config"), [gitDir]) is { } config
            && ConfigValue(config, "core", "worktree") is { } worktree
            && Native.TryRealPath(Path.GetFullPath(worktree, gitDir)) == top;
    }

    /// <summary>The directories every file of this repository must lie in, as opened.</summary>
    private string[] Places => GitDir == CommonDir ? [GitDir] : [GitDir, CommonDir];

    /// <summary>A file of this repository (a path inside its git or common directory), or null when it is not there, not a regular file, or leads elsewhere.</summary>
    public string? ReadFile(string path) => ReadContained(path, Places);

    /// <summary>The branch <c>HEAD</c> names (null when detached) and the commit it resolves to (null on an unborn branch).</summary>
    public (string? Branch, string? Head) ReadHead()
    {
        if (ReadFile(Path.Combine(GitDir, "HEAD"))?.Trim() is not { } text)
        {
            return (null, null);
        }

        if (text.StartsWith("ref: ", StringComparison.Ordinal))
        {
            var reference = text[5..].Trim();
            var branch = reference.StartsWith("refs/heads/", StringComparison.Ordinal) ? reference["refs/heads/".Length..] : reference;
            return (branch, ResolveRef(reference, 0));
        }

        return (null, IsObjectId(text) ? text : null);
    }

    /// <summary>A ref's commit, following symbolic refs a few levels; only well-formed names under refs/ are looked up.</summary>
    private string? ResolveRef(string reference, int depth)
    {
        if (depth > 5 || !IsRefName(reference))
        {
            return null;
        }

        foreach (var dir in Places)
        {
            if (ReadFile(Path.Combine(dir, reference))?.Trim() is { } text)
            {
                return text.StartsWith("ref: ", StringComparison.Ordinal) ? ResolveRef(text[5..].Trim(), depth + 1)
                    : IsObjectId(text) ? text : null;
            }
        }

        if (ReadFile(Path.Combine(CommonDir, "packed-refs")) is { } packed)
        {
            foreach (var line in packed.Split('\n'))
            {
                int space = line.IndexOf(' ', StringComparison.Ordinal);
                if (space > 0 && line.AsSpan(space + 1).TrimEnd('\r').SequenceEqual(reference) && IsObjectId(line[..space]))
                {
                    return line[..space];
                }
            }
        }

        return null; // An unborn branch: no commit yet.
    }

    /// <summary>The URL of <c>origin</c>, else of the first remote, from the repository's own config file (its includes are not read).</summary>
    public string? RemoteUrl()
    {
        if (ReadFile(Path.Combine(CommonDir, "config")) is not { } config)
        {
            return null;
        }

        string? first = null;
        foreach (var (section, subsection, key, value) in ConfigEntries(config))
        {
            if (section == "remote" && key == "url" && subsection is not null)
            {
                if (subsection == "origin")
                {
                    return value;
                }

                first ??= value;
            }
        }

        return first;
    }

    /// <summary>extensions.objectFormat of the repository ("sha256"), or null for git's default (sha1).</summary>
    public string? ObjectFormat() =>
        ReadFile(Path.Combine(CommonDir, "config")) is { } config && ConfigValue(config, "extensions", "objectformat") is { } format
            && !format.Equals("sha1", StringComparison.OrdinalIgnoreCase)
            ? format.ToLowerInvariant()
            : null;

    /// <summary>
    /// Subdirectories of the common directory that <c>git worktree add</c> writes through, which must be real
    /// directories of the repository (a symlink there would make the daemon write where the workspace cannot).
    /// </summary>
    public string? LinkLeavingRepository(IEnumerable<string> relativePaths)
    {
        foreach (var relative in relativePaths)
        {
            var path = Path.Combine(CommonDir, relative);
            if (new FileInfo(path).LinkTarget is { } target)
            {
                return $"{path} is a symlink (to {target})";
            }

            if (Path.Exists(path) && Native.TryRealPath(path) is { } real && !IsInside(real, CommonDir))
            {
                return $"{path} leads to {real}, outside the repository";
            }
        }

        return null;
    }

    private static bool IsObjectId(string text) =>
        text.Length is 40 or 64 && text.All(char.IsAsciiHexDigitLower);

    private static bool IsRefName(string name) =>
        name.StartsWith("refs/", StringComparison.Ordinal)
        && !name.EndsWith('/')
        && name.Split('/').All(part => part.Length > 0 && part != "." && part != ".." && !part.StartsWith('.'))
        && !name.Any(c => char.IsControl(c) || c is ' ' or '~' or '^' or ':' or '?' or '*' or '[' or '\\');

    internal static bool IsInside(string path, string dir) =>
        path == dir || path.StartsWith(dir.EndsWith('/') ? dir : dir + "/", StringComparison.Ordinal);

    /// <summary>The last value of <c>[section] key</c> (no subsection) in a config file's text.</summary>
    private static string? ConfigValue(string config, string section, string key)
    {
        string? found = null;
        foreach (var (s, sub, k, v) in ConfigEntries(config))
        {
            if (s == section && sub is null && k == key)
            {
                found = v;
            }
        }

        return found;
    }

    /// <summary>
    /// The entries of a git config file: section and key lower-cased (git's names are case-insensitive), the
    /// subsection as written. Enough of git's syntax for the few values read here; continuation lines are not joined.
    /// </summary>
    private static IEnumerable<(string Section, string? Subsection, string Key, string Value)> ConfigEntries(string config)
    {
        string section = "";
        string? subsection = null;
        foreach (var raw in config.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('['))
            {
                int end = line.IndexOf(']', StringComparison.Ordinal);
                var header = end > 0 ? line[1..end].Trim() : "";
                int quote = header.IndexOf('"', StringComparison.Ordinal);
                if (quote >= 0)
                {
                    section = header[..quote].Trim().ToLowerInvariant();
                    subsection = header[(quote + 1)..].TrimEnd('"').Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
                }
                else
                {
                    int dot = header.IndexOf('.', StringComparison.Ordinal);
                    section = (dot < 0 ? header : header[..dot]).ToLowerInvariant();
                    subsection = dot < 0 ? null : header[(dot + 1)..];
                }

                line = end > 0 ? line[(end + 1)..].Trim() : "";
                if (line.Length == 0)
                {
                    continue;
                }
            }

            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            int eq = line.IndexOf('=', StringComparison.Ordinal);
            var key = (eq < 0 ? line : line[..eq]).Trim().ToLowerInvariant();
            var value = eq < 0 ? "true" : StripComment(line[(eq + 1)..].Trim());
            yield return (section, subsection, key, value);
        }

        static string StripComment(string value)
        {
            if (value.StartsWith('"'))
            {
                int end = value.IndexOf('"', 1);
                return end > 0 ? value[1..end] : value[1..];
            }

            int hash = value.IndexOfAny(['#', ';']);
            return (hash < 0 ? value : value[..hash]).Trim();
        }
    }

    /// <summary>
    /// The text of a regular file that, as opened, lies inside one of <paramref name="places"/>; null otherwise. Opened
    /// with O_NONBLOCK (a FIFO does not block the open) and checked with fstat before anything is read.
    /// </summary>
    internal static unsafe string? ReadContained(string path, IReadOnlyList<string> places)
    {
        int fd = OpenFile(path, ORdOnly | ONonBlock | OCloExec | ONoCtty);
        if (fd < 0)
        {
            return null;
        }

        using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        StatBuffer stat;
        if (FStat(fd, out stat) != 0)
        {
            return null;
        }

        // st_mode: x86_64 at 24 (dev 8, ino 8, nlink 8); aarch64 at 16 (dev 8, ino 8). st_size at 48 on both.
        uint mode = *(uint*)(stat.Bytes + (RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16));
        long size = *(long*)(stat.Bytes + 48);
        const uint TypeMask = 0xF000, Regular = 0x8000;
        if ((mode & TypeMask) != Regular || size > MaxFileBytes)
        {
            return null;
        }

        var opened = new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        if (opened is null || !places.Any(p => IsInside(opened, Native.TryRealPath(p) ?? p)))
        {
            return null;
        }

        using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private const int ORdOnly = 0, ONoCtty = 0x100, ONonBlock = 0x800, OCloExec = 0x80000;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int OpenFile(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FStat(int fd, out StatBuffer buffer);

    /// <summary>Room for glibc's <c>struct stat</c> (144 bytes on x86_64, 128 on aarch64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct StatBuffer
    {
        public fixed byte Bytes[256];
    }
}
