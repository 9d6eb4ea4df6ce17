using Microsoft.Win32.SafeHandles;

namespace Orchflow.Pty.Linux;

/// <summary>
/// Owns a file descriptor. The reference counting of <see cref="System.Runtime.InteropServices.SafeHandle"/>
/// guarantees the descriptor is closed exactly once and never while a read, write or ioctl on
/// another thread still uses it, which would otherwise risk acting on a reused descriptor number.
/// </summary>
internal sealed class FileDescriptorHandle : SafeHandleMinusOneIsInvalid
{
    public FileDescriptorHandle(int fd)
        : base(ownsHandle: true)
    {
        SetHandle(fd);
    }

    /// <summary>The descriptor number; only meaningful while a reference is held.</summary>
    public int Fd => (int)handle;

    protected override bool ReleaseHandle()
    {
        // On Linux the descriptor is released even when close reports EINTR, so it is never retried.
        return LibC.close((int)handle) == 0;
    }
}
