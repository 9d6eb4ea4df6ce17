using System.Runtime.InteropServices;
using Orchflow.Pty.Linux;

namespace Orchflow.Pty;

/// <summary>
/// Starts programs in pseudo-terminals. The platform-specific part lives behind this interface
/// so that macOS and Windows (ConPTY) backends can be added without changing callers.
/// </summary>
public interface IPtyBackend
{
    /// <summary>
    /// Starts <see cref="PtySpawnOptions.File"/> as the leader of a new session whose controlling
    /// terminal is a new pseudo-terminal. Launch problems come back as
    /// <see cref="PtySpawnResult.Failure"/>; only a null argument throws.
    /// </summary>
    PtySpawnResult Spawn(PtySpawnOptions options);
}

/// <summary>Gives the backend for the operating system the daemon runs on.</summary>
public static class PtyBackend
{
    /// <summary>
    /// The backend for this platform.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">On anything but Linux on x64 or Arm64.</exception>
    public static IPtyBackend Default
    {
        get
        {
            // The interop constants (ioctl numbers, open flags) are those of Linux on x64 and Arm64;
            // other Linux architectures use different values for some of them.
            if (OperatingSystem.IsLinux()
                && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64)
            {
                return LinuxPtyBackend.Instance;
            }

            throw new PlatformNotSupportedException(
                $"Orchflow has no pseudo-terminal backend for {RuntimeInformation.OSDescription} " +
                $"({RuntimeInformation.ProcessArchitecture}); only Linux on x64 and Arm64 is supported so far.");
        }
    }
}
