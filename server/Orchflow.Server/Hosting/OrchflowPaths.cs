namespace Orchflow.Server.Hosting;

/// <summary>
/// Where Orchflow keeps its files. <c>ORCHFLOW_HOME</c> moves all of them under one directory (tests always set it);
/// without it the XDG base directories apply. Every path is absolute: nothing depends on a process's current directory.
/// </summary>
public sealed record OrchflowPaths(string? Home, string ConfigDirectory, string DataDirectory, string RuntimeDirectory, string LogDirectory)
{
    public const string HomeVariable = "ORCHFLOW_HOME";

    /// <summary>Unix domain socket paths are limited to 107 bytes by sockaddr_un.</summary>
    public const int MaxSocketPathBytes = 107;

    public string ConfigFile => Path.Combine(ConfigDirectory, "orchflow.toml");

    public string DatabaseFile => Path.Combine(DataDirectory, "orchflow.db");

    public string SocketPath => Path.Combine(RuntimeDirectory, "orchflow.sock");

    /// <summary>The socket agents' MCP servers use: it serves only orchflow/mcp/* calls, each with an agent's token.</summary>
    public string McpSocketPath => Path.Combine(RuntimeDirectory, "mcp.sock");

    public string LockFile => Path.Combine(RuntimeDirectory, "daemon.lock");

    public string SpawnLockFile => Path.Combine(RuntimeDirectory, "spawn.lock");

    public string PidFile => Path.Combine(RuntimeDirectory, "daemon.pid");

    public string LogFile => Path.Combine(LogDirectory, "daemon.log");

    public string DisplayHome => Home ?? Path.GetDirectoryName(ConfigDirectory) ?? ConfigDirectory;

    public static OrchflowPaths FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    public static OrchflowPaths FromEnvironment(Func<string, string?> env)
    {
        var home = env(HomeVariable);
        if (!string.IsNullOrWhiteSpace(home))
        {
            home = Path.GetFullPath(home);
            return new OrchflowPaths(home, Path.Combine(home, "config"), Path.Combine(home, "data"), Path.Combine(home, "run"), Path.Combine(home, "logs"));
        }

        var userHome = env("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string Xdg(string variable, string fallback)
        {
            var value = env(variable);
            return !string.IsNullOrWhiteSpace(value) && Path.IsPathRooted(value) ? value : Path.Combine(userHome, fallback);
        }

        var runtime = env("XDG_RUNTIME_DIR");
        var runtimeDir = !string.IsNullOrWhiteSpace(runtime) && Path.IsPathRooted(runtime)
            ? Path.Combine(runtime, "orchflow")
            : Path.Combine(Path.GetTempPath(), $"orchflow-{Native.GetUid()}");
        return new OrchflowPaths(
            null,
            Path.Combine(Xdg("XDG_CONFIG_HOME", ".config"), "orchflow"),
            Path.Combine(Xdg("XDG_DATA_HOME", Path.Combine(".local", "share")), "orchflow"),
            runtimeDir,
            Path.Combine(Xdg("XDG_STATE_HOME", Path.Combine(".local", "state")), "orchflow"));
    }

    /// <summary>Runs a change to Orchflow's directories; a refusal becomes an error that says where and what to do.</summary>
    private void Change(Action change)
    {
        try
        {
            change();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OrchflowException(Protocol.ErrorCodes.InvalidPath,
                $"Orchflow's directories under {DisplayHome} cannot be created or changed: {e.Message}",
                $"Inside a workspace's sandbox (tier enhanced or strict) they are hidden on purpose, and the daemon refuses sandboxed clients: run orchflow from your own shell or VS Code. Elsewhere, check that you can write there, or set {HomeVariable}.");
        }
    }

    /// <summary>
    /// Creates the directories. The runtime directory holds the socket, so it is private (0700) and must belong
    /// to this user: a directory someone else made in /tmp could let them intercept the connection.
    /// </summary>
    public void EnsureDirectories()
    {
        Change(() =>
        {
            foreach (var dir in new[] { ConfigDirectory, DataDirectory, LogDirectory })
            {
                Directory.CreateDirectory(dir);
            }

            Directory.CreateDirectory(RuntimeDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        });
        var owner = Native.GetOwnerUid(RuntimeDirectory);
        if (owner != Native.GetUid())
        {
            throw new OrchflowException(Protocol.ErrorCodes.NotAllowed,
                $"The runtime directory {RuntimeDirectory} belongs to uid {owner}, not to you.",
                $"Remove it, or set {HomeVariable} to a directory of your own.");
        }

        Change(() => File.SetUnixFileMode(RuntimeDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
        if (System.Text.Encoding.UTF8.GetByteCount(SocketPath) > MaxSocketPathBytes)
        {
            throw new OrchflowException(Protocol.ErrorCodes.InvalidPath,
                $"The socket path {SocketPath} is longer than the {MaxSocketPathBytes} bytes a Unix socket allows.",
                $"Set {HomeVariable} (or XDG_RUNTIME_DIR) to a shorter directory.");
        }
    }
}
