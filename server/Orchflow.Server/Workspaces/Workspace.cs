using Orchflow.Config;
using Orchflow.Server.Configuration;
using Orchflow.Server.Storage;
using ProtocolDiagnostic = Orchflow.Protocol.Diagnostic;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// A registered workspace in the daemon's memory: its stored record, the workspace.json in force (the last one
/// that parsed without errors), and the problems of the file as it is now on disk.
/// Mutated only by <see cref="WorkspaceService"/> under its lock; readers get <see cref="Protocol.WorkspaceInfo"/> snapshots.
/// </summary>
public sealed class Workspace
{
    internal Workspace(WorkspaceRecord record)
    {
        Record = record;
    }

    internal WorkspaceRecord Record { get; }

    public string Id => Record.Id;

    public string RootPath => Record.RootPath;

    public string Namespace => Record.Namespace;

    public bool IsDefault => Record.IsDefault;

    /// <summary>The workspace.json in force, or null when the workspace has none (defaults apply).</summary>
    public WorkspaceFileConfig? Config { get; internal set; }

    public DateTimeOffset? ConfigLoadedAt { get; internal set; }

    public IReadOnlyList<ProtocolDiagnostic> ConfigDiagnostics { get; internal set; } = [];

    internal FileStamp ConfigStamp { get; set; } = FileStamp.Missing;

    public string ConfigPath => Path.Combine(Record.RootPath, WorkspaceConfigLoader.RelativePath);

    /// <summary>True when <paramref name="path"/> (canonical, absolute) is the root or inside it.</summary>
    public bool Contains(string path) => PathRules.IsSameOrInside(path, Record.RootPath);
}
