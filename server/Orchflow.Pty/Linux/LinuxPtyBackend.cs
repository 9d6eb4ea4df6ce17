// Orchflow.Pty: pseudo-terminals for the daemon, on Linux, with nothing but libc.
//
// Spawning. The master side comes from posix_openpt (O_NOCTTY so the daemon never acquires it as
// its controlling terminal, O_CLOEXEC so no other child inherits it). The child is started with
// posix_spawn, not fork: fork in a multi-threaded managed process copies only the calling thread,
// and the child would run arbitrary code (allocator, GC, locks held by other threads) before exec.
// glibc implements posix_spawn with a vfork-style clone that runs only async-signal-safe steps,
// and it reports exec failures (ENOENT, EACCES) synchronously, so a bad command is a return value.
// The steps in the child, in order: setsid (POSIX_SPAWN_SETSID: the child leads a new session and
// process group, so Pid is also its group and session id), every signal back to its default
// (the .NET runtime ignores SIGPIPE, and an ignored signal survives exec: without this
// `yes | head -c3` prints "Broken pipe"), an empty signal mask, chdir to the working directory,
// open the slave by name onto fd 0 without O_NOCTTY (a session leader without a controlling
// terminal acquires the first terminal it opens), dup it onto 1 and 2, and close every descriptor
// from 3 up so that nothing of the daemon or of another terminal leaks into the child.
// posix_spawn is used rather than posix_spawnp because posix_spawnp searches the daemon's PATH;
// the program is resolved against the PATH of the environment the caller passes, which is the
// child's entire environment.
//
// Reading. Each terminal has one dedicated thread doing blocking read() on the master: about 1 ms
// from spawn to first output here, against 3 to 7 ms through FileStream.ReadAsync, whose every read
// hops through the thread pool. The thread polls the master together with an eventfd so that
// Dispose can wake it even when some escaped process keeps the slave open and no EIO would ever
// come. EIO from read means every holder of the slave has closed it: the normal end of output.
// Flow control stops calling read(): the kernel's terminal buffer fills and the child blocks in
// write(), so memory stays bounded and nothing is dropped.
// The 64 KiB read buffer is rented from a pool shared by every terminal once poll reports output,
// and returned once the sink has it: most terminals sit quiet, and a buffer of their own was most
// of the managed memory each one held.
//
// Exit. Each terminal has its own thread blocked in waitpid(pid): never waitpid(-1), which would
// steal the exit statuses of the children the .NET runtime started through Process. The exit is
// reported only after the reader has drained the output or a short grace period has passed, so the
// final bytes reach the sink before the exit does.
//
// Killing. KillTree signals the process group, then every process found in /proc that is in the
// terminal's session or descends from its first process (that covers background jobs in other
// process groups, nohup'd processes, which ignore SIGHUP but keep the session, and double-forked
// ones reparented to init). What it cannot catch: a process that calls setsid itself and has been
// reparented away from the tree is in no way linked to the terminal any more. Only a cgroup or a
// PID namespace contains that; it belongs to the later security layer, not to this library.
// Note also that on a machine whose PID 1 does not reap orphans, killed orphans stay as zombies.
using System.Runtime.InteropServices;

namespace Orchflow.Pty.Linux;

/// <summary>The Linux backend: posix_openpt for the terminal, posix_spawn for the child.</summary>
internal sealed class LinuxPtyBackend : IPtyBackend
{
    public static LinuxPtyBackend Instance { get; } = new();

    private LinuxPtyBackend()
    {
    }

    public PtySpawnResult Spawn(PtySpawnOptions options)
    {
        var (executable, failure) = Prepare(options);
        return failure ?? SpawnCore(executable!, options);
    }

    /// <summary>
    /// Checks <paramref name="options"/> and resolves the program on the child's PATH: the part of a spawn that turns a
    /// bad command into a synchronous <see cref="PtySpawnResult.Failure"/>, shared with the holder backend.
    /// </summary>
    internal static (string? Executable, PtySpawnResult.Failure? Failure) Prepare(PtySpawnOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.File);
        ArgumentNullException.ThrowIfNull(options.Arguments);
        ArgumentNullException.ThrowIfNull(options.WorkingDirectory);
        ArgumentNullException.ThrowIfNull(options.Environment);

        if ((Validate(options) ?? CheckWorkingDirectory(options.WorkingDirectory)) is { } invalid)
        {
            return (null, invalid);
        }

        return ExecutableResolver.Resolve(options.File, options.WorkingDirectory, options.Environment);
    }

    /// <summary>
    /// What is executed and with which argument vector: with a launcher, the launcher, given the resolved program and
    /// the arguments; without, the resolved program with <see cref="PtySpawnOptions.File"/> as argv[0].
    /// </summary>
    internal static (string Program, string[] Argv) CommandLine(PtySpawnOptions options, string executable) =>
        options.Launcher is { } launcher
            ? (launcher[0], [.. launcher, executable, .. options.Arguments])
            : (executable, [options.File, .. options.Arguments]);

    /// <summary>
    /// Options come from user settings, so malformed ones are reported like any other launch
    /// problem rather than thrown.
    /// </summary>
    private static PtySpawnResult.Failure? Validate(PtySpawnOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.File))
        {
            return Invalid("No program was given to start.");
        }

        if (options.Launcher is { } launcher
            && (launcher.Count == 0 || launcher[0] is null || !Path.IsPathFullyQualified(launcher[0]) || launcher.Any(a => a is null || a.Contains('\0'))))
        {
            return Invalid("The launcher must start with an absolute program path, and no argument may be null or contain a NUL character.");
        }

        if (options.Columns == 0 || options.Rows == 0)
        {
            return Invalid($"A terminal of {options.Columns}x{options.Rows} cells cannot be created; both dimensions must be at least 1.");
        }

        // C strings end at the first NUL: a NUL inside a value would silently truncate it.
        if (options.File.Contains('\0') || options.WorkingDirectory.Contains('\0'))
        {
            return Invalid("The program or working directory contains a NUL character.");
        }

        foreach (var argument in options.Arguments)
        {
            if (argument is null || argument.Contains('\0'))
            {
                return Invalid($"An argument of '{options.File}' is null or contains a NUL character.");
            }
        }

        foreach (var (name, value) in options.Environment)
        {
            if (name.Length == 0 || name.Contains('=') || name.Contains('\0') || value is null || value.Contains('\0'))
            {
                return Invalid($"The environment variable '{name.Replace("\0", "\\0", StringComparison.Ordinal)}' has an invalid name or value (names cannot be empty or contain '='; nothing can contain NUL).");
            }
        }

        return null;

        static PtySpawnResult.Failure Invalid(string message) => new(message, LibC.EINVAL);
    }

    private static PtySpawnResult.Failure? CheckWorkingDirectory(string directory)
    {
        // A relative directory would be resolved against the daemon's own working directory, which
        // must never leak into a workspace.
        if (!Path.IsPathFullyQualified(directory))
        {
            return new($"The working directory '{directory}' is not an absolute path.", LibC.EINVAL);
        }

        if (Directory.Exists(directory))
        {
            return null;
        }

        return File.Exists(directory)
            ? new($"The working directory '{directory}' is not a directory.", LibC.ENOTDIR)
            : new($"The working directory '{directory}' does not exist. Check the workspace folder or the terminal's cwd setting.", LibC.ENOENT);
    }

    private static unsafe PtySpawnResult SpawnCore(string executable, PtySpawnOptions options)
    {
        var masterFd = LibC.posix_openpt(LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
        if (masterFd < 0)
        {
            return Failed("Could not open a pseudo-terminal", Marshal.GetLastPInvokeError());
        }

        var master = new FileDescriptorHandle(masterFd);
        FileDescriptorHandle? wake = null;
        var handedOver = false;
        try
        {
            if (LibC.grantpt(masterFd) != 0)
            {
                return Failed("Could not set up the pseudo-terminal (grantpt)", Marshal.GetLastPInvokeError());
            }

            if (LibC.unlockpt(masterFd) != 0)
            {
                return Failed("Could not set up the pseudo-terminal (unlockpt)", Marshal.GetLastPInvokeError());
            }

            var nameBuffer = stackalloc byte[128];
            var error = LibC.ptsname_r(masterFd, nameBuffer, 128);
            if (error != 0)
            {
                return Failed("Could not name the pseudo-terminal (ptsname_r)", error);
            }

            var ptsName = Marshal.PtrToStringUTF8((nint)nameBuffer)!;

            var size = new LibC.WinSize { Columns = options.Columns, Rows = options.Rows };
            if (LibC.ioctl(masterFd, LibC.TIOCSWINSZ, &size) != 0)
            {
                return Failed("Could not set the terminal size", Marshal.GetLastPInvokeError());
            }

            EnableUtf8Input(masterFd);

            var wakeFd = LibC.eventfd(0, LibC.EFD_CLOEXEC);
            if (wakeFd < 0)
            {
                return Failed("Could not create the terminal's wake-up descriptor", Marshal.GetLastPInvokeError());
            }

            wake = new FileDescriptorHandle(wakeFd);

            var (program, argv) = CommandLine(options, executable);
            FileDescriptorHandle? directory = null;
            if (options.ConfineWorkingDirectoryTo is { } confine)
            {
                var (opened, outside) = OpenConfinedDirectory(options.WorkingDirectory, confine);
                if (outside is not null)
                {
                    return outside;
                }

                directory = opened;
            }

            int pid;
            using (directory)
            {
                error = SpawnChild(program, argv, options, ptsName, directory?.Fd ?? -1, out pid);
            }

            if (error != 0)
            {
                return new PtySpawnResult.Failure(
                    $"Could not start '{options.File}' ({program}) in '{options.WorkingDirectory}': {LibC.Describe(error)}.",
                    error);
            }

            var process = new LinuxPtyProcess(pid, ptsName, master, wake);
            handedOver = true;
            return new PtySpawnResult.Success(process);
        }
        finally
        {
            if (!handedOver)
            {
                master.Dispose();
                wake?.Dispose();
            }
        }

        static PtySpawnResult.Failure Failed(string what, int errno) => new($"{what}: {LibC.Describe(errno)}.", errno);
    }

    /// <summary>
    /// Sets IUTF8 on the terminal so that, in canonical mode, erasing a character removes all the
    /// bytes of a multi-byte UTF-8 character (node-pty does the same). On Linux, termios calls on the
    /// master act on the slave. Best effort: a terminal without it still works.
    /// </summary>
    private static unsafe void EnableUtf8Input(int masterFd)
    {
        var termios = stackalloc byte[LibC.TermiosSize];
        if (LibC.tcgetattr(masterFd, termios) == 0)
        {
            *(uint*)termios |= LibC.IUTF8;
            _ = LibC.tcsetattr(masterFd, LibC.TCSANOW, termios);
        }
    }

    /// <summary>Starts the child; returns 0 and its pid, or an error number.</summary>
    /// <summary>
    /// Opens the working directory and checks where it really is, as opened: the one answer that a later rename or
    /// symlink swap cannot change, since the child enters this very directory through the descriptor.
    /// </summary>
    private static unsafe (FileDescriptorHandle? Directory, PtySpawnResult.Failure? Failure) OpenConfinedDirectory(string directory, string confine)
    {
        int fd;
        fixed (byte* path = LibC.ToUtf8z(directory))
        {
            fd = LibC.open(path, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC);
        }

        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return (null, new($"The working directory '{directory}' cannot be opened: {LibC.Describe(errno)}.", errno));
        }

        var handle = new FileDescriptorHandle(fd);
        var buffer = stackalloc byte[4096];
        nint length;
        fixed (byte* link = LibC.ToUtf8z($"/proc/self/fd/{fd}"))
        {
            length = LibC.readlink(link, buffer, 4096);
        }

        var actual = length > 0 ? System.Text.Encoding.UTF8.GetString(buffer, (int)length) : null;
        bool inside = actual is not null
            && (actual == confine || (actual.StartsWith(confine, StringComparison.Ordinal) && (confine == "/" || actual[confine.Length] == '/')));
        if (!inside)
        {
            handle.Dispose();
            return (null, new(
                $"The working directory '{directory}' is {actual ?? "somewhere unknown"} once opened, outside {confine}: it was replaced while the terminal was starting (a symlink or rename).",
                LibC.EACCES));
        }

        return (handle, null);
    }

    private static unsafe int SpawnChild(string executable, string[] arguments, PtySpawnOptions options, string ptsName, int directoryFd, out int pid)
    {
        pid = 0;
        using var argv = new NativeStringArray(arguments);
        using var envp = new NativeStringArray(options.Environment.Select(pair => $"{pair.Key}={pair.Value}").ToArray());

        var attributes = NativeMemory.AlignedAlloc(LibC.SpawnStructSize, 16);
        var actions = NativeMemory.AlignedAlloc(LibC.SpawnStructSize, 16);
        var signals = NativeMemory.AlignedAlloc(LibC.SigsetSize, 16);
        NativeMemory.Clear(attributes, LibC.SpawnStructSize);
        NativeMemory.Clear(actions, LibC.SpawnStructSize);
        NativeMemory.Clear(signals, LibC.SigsetSize);
        var attributesReady = false;
        var actionsReady = false;
        try
        {
            var error = LibC.posix_spawnattr_init(attributes);
            if (error != 0)
            {
                return error;
            }

            attributesReady = true;
            error = LibC.posix_spawnattr_setflags(
                attributes,
                LibC.POSIX_SPAWN_SETSID | LibC.POSIX_SPAWN_SETSIGDEF | LibC.POSIX_SPAWN_SETSIGMASK);
            if (error != 0)
            {
                return error;
            }

            // Every signal goes back to its default disposition: handlers and ignores set by the
            // .NET runtime (SIGPIPE among them) must not reach the user's programs.
            _ = LibC.sigfillset(signals);
            error = LibC.posix_spawnattr_setsigdefault(attributes, signals);
            if (error != 0)
            {
                return error;
            }

            _ = LibC.sigemptyset(signals);
            error = LibC.posix_spawnattr_setsigmask(attributes, signals);
            if (error != 0)
            {
                return error;
            }

            error = LibC.posix_spawn_file_actions_init(actions);
            if (error != 0)
            {
                return error;
            }

            actionsReady = true;
            fixed (byte* path = LibC.ToUtf8z(executable))
            fixed (byte* directory = LibC.ToUtf8z(options.WorkingDirectory))
            fixed (byte* slave = LibC.ToUtf8z(ptsName))
            {
                error = directoryFd >= 0
                    ? LibC.posix_spawn_file_actions_addfchdir_np(actions, directoryFd)
                    : LibC.posix_spawn_file_actions_addchdir_np(actions, directory);
                if (error == 0)
                {
                    // No O_NOCTTY: the child is a session leader by now, and opening the slave makes
                    // it the controlling terminal, which job control and Ctrl+C depend on.
                    error = LibC.posix_spawn_file_actions_addopen(actions, 0, slave, LibC.O_RDWR, 0);
                }

                if (error == 0)
                {
                    error = LibC.posix_spawn_file_actions_adddup2(actions, 0, 1);
                }

                if (error == 0)
                {
                    error = LibC.posix_spawn_file_actions_adddup2(actions, 0, 2);
                }

                if (error == 0)
                {
                    error = LibC.posix_spawn_file_actions_addclosefrom_np(actions, 3);
                }

                if (error != 0)
                {
                    return error;
                }

                int child;
                error = LibC.posix_spawn(&child, path, actions, attributes, argv.Pointers, envp.Pointers);
                pid = child;
                return error;
            }
        }
        finally
        {
            if (actionsReady)
            {
                _ = LibC.posix_spawn_file_actions_destroy(actions);
            }

            if (attributesReady)
            {
                _ = LibC.posix_spawnattr_destroy(attributes);
            }

            NativeMemory.AlignedFree(signals);
            NativeMemory.AlignedFree(actions);
            NativeMemory.AlignedFree(attributes);
        }
    }
}
