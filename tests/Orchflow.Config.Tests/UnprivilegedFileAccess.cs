using System.Globalization;
using System.Runtime.InteropServices;

namespace Orchflow.Config.Tests;

/// <summary>
/// File access as an unprivileged user on the calling thread, for the tests of a file nobody may read, which must run
/// as root too (CI runs as root, and root reads anything). setfsuid(2) changes the file-system user id of this thread
/// alone, and a non-zero one takes away the capabilities that let root ignore permissions (CAP_DAC_OVERRIDE,
/// CAP_DAC_READ_SEARCH) for as long as it is in force. As any other user, the test's own identity is unprivileged.
/// </summary>
internal static partial class UnprivilegedFileAccess
{
    /// <summary>The file-system user id taken as root: nobody's.</summary>
    public const uint Nobody = 65534;

    private const int CapSetuid = 7;

    /// <summary>Why this process cannot read files as an unprivileged user, or null when it can.</summary>
    public static string? Problem { get; } = FindProblem();

    /// <summary>Runs <paramref name="read"/> (synchronous file access only: the identity belongs to this thread) as an unprivileged user.</summary>
    public static T Run<T>(Func<T> read)
    {
        if (GetUid() != 0)
        {
            return read();
        }

        uint previous = (uint)SetFsUid(Nobody);
        try
        {
            Assert.True((uint)SetFsUid(uint.MaxValue) == Nobody, "setfsuid did not take the unprivileged file-system user id"); // -1 changes nothing and returns the current id
            return read();
        }
        finally
        {
            SetFsUid(previous);
        }
    }

    private static string? FindProblem()
    {
        if (GetUid() != 0)
        {
            return null;
        }

        var capEff = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("CapEff:", StringComparison.Ordinal))["CapEff:".Length..].Trim();
        return (ulong.Parse(capEff, NumberStyles.HexNumber, CultureInfo.InvariantCulture) & (1UL << CapSetuid)) != 0
            ? null
            : "the tests run as root without CAP_SETUID, so they can neither be refused a file nor take another user's file-system id";
    }

    [LibraryImport("libc", EntryPoint = "getuid")]
    private static partial uint GetUid();

    [LibraryImport("libc", EntryPoint = "setfsuid")]
    private static partial int SetFsUid(uint fsuid);
}

/// <summary>Runs where a file can be made unreadable to the test (<see cref="UnprivilegedFileAccess"/>); skipped, saying why, elsewhere.</summary>
internal sealed class UnprivilegedFactAttribute : FactAttribute
{
    public UnprivilegedFactAttribute()
    {
        Skip = UnprivilegedFileAccess.Problem;
    }
}
