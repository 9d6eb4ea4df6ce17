using System.Globalization;
using System.Runtime.InteropServices;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// Which folder a workspace root is, beyond its path: the device and inode of the directory, and its birth time where
/// the file system records one. A folder moved aside and replaced by another at the same path has another inode; a
/// folder deleted and made again may get the same inode number back (ext4 hands out a freed inode at once, measured
/// here: four mkdir/rm rounds, one inode), but not the same birth time. Birth times come from the kernel's coarse
/// clock (one tick, a few milliseconds): a folder made in the very tick its predecessor was made would look the same,
/// which a registered root, made before it was registered, cannot meet.
/// </summary>
/// <param name="Device">st_dev as major and minor, <c>major &lt;&lt; 32 | minor</c>.</param>
/// <param name="BirthNanoseconds">Birth time in nanoseconds since the epoch; null where the file system has none.</param>
public sealed partial record RootIdentity(ulong Device, ulong Inode, long? BirthNanoseconds)
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const uint StatxIno = 0x100;
    private const uint StatxBtime = 0x800;
    private const ushort FileTypeMask = 0xF000;
    private const ushort Directory = 0x4000;

    public uint DeviceMajor => (uint)(Device >> 32);

    public uint DeviceMinor => (uint)Device;

    /// <summary>"device 254:0, inode 1234": how messages and the audit log name it.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"device {DeviceMajor}:{DeviceMinor}, inode {Inode}");

    /// <summary>
    /// The identity of the directory at <paramref name="path"/>, itself and not what a symlink there points to (a root
    /// turned into a symlink is not the registered folder); null with the reason when there is no directory.
    /// </summary>
    public static RootIdentity? Of(string path, out string? problem)
    {
        var buffer = default(StatxBuffer);
        if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType | StatxIno | StatxBtime, ref buffer) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            problem = errno == 2 ? $"{path} does not exist" : $"{path} cannot be examined ({Marshal.GetPInvokeErrorMessage(errno)})";
            return null;
        }

        if ((buffer.Mode & FileTypeMask) != Directory)
        {
            problem = $"{path} is not a directory (a file or a symlink is there now)";
            return null;
        }

        problem = null;
        long? birth = (buffer.Mask & StatxBtime) != 0 ? (buffer.BirthSeconds * 1_000_000_000L) + buffer.BirthNanoseconds : null;
        return new RootIdentity(((ulong)buffer.DeviceMajor << 32) | buffer.DeviceMinor, buffer.Inode, birth);
    }

    /// <summary>
    /// Why <paramref name="found"/> is not this folder, in the words of the root's state; null when it is. Birth
    /// times are compared only when both are known (a file system without them compares device and inode alone).
    /// </summary>
    public string? Differs(RootIdentity found)
    {
        if (found.Device != Device || found.Inode != Inode)
        {
            return "device:inode changed";
        }

        if (BirthNanoseconds is { } registered && found.BirthNanoseconds is { } now && registered != now)
        {
            return $"same device:inode, but created {Time(now)}, not {Time(registered)} as the registered one: the inode number was reused";
        }

        return null;
    }

    private static string Time(long nanoseconds) =>
        DateTimeOffset.UnixEpoch.AddTicks(nanoseconds / 100).ToString("yyyy-MM-dd HH:mm:ss.fffffff 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>The kernel's struct statx (256 bytes); only the fields read here are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(0)]
        public uint Mask;

        [FieldOffset(28)]
        public ushort Mode;

        [FieldOffset(32)]
        public ulong Inode;

        [FieldOffset(80)]
        public long BirthSeconds;

        [FieldOffset(88)]
        public uint BirthNanoseconds;

        [FieldOffset(136)]
        public uint DeviceMajor;

        [FieldOffset(140)]
        public uint DeviceMinor;
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int dirFd, string path, int flags, uint mask, ref StatxBuffer buffer);
}
