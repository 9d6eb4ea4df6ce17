namespace Orchflow.Protocol;

/// <summary>
/// Every JSON-RPC method and notification name on the wire, in one place.
/// Custom methods are named <c>orchflow/&lt;capability&gt;/&lt;verb&gt;</c>; the LSP lifecycle keeps its own names.
/// The TypeScript client gets these from the <c>methods</c> table of schemas/protocol.schema.json, generated from <see cref="ProtocolSchema.MethodTable"/>.
/// </summary>
public static class Methods
{
    // LSP base lifecycle.
    public const string Initialize = "initialize";
    public const string Initialized = "initialized";
    public const string Shutdown = "shutdown";
    public const string Exit = "exit";

    public const string Status = "orchflow/status";

    public const string WorkspaceList = "orchflow/workspace/list";
    public const string WorkspaceCreate = "orchflow/workspace/create";
    public const string WorkspaceShow = "orchflow/workspace/show";
    public const string WorkspaceUpdate = "orchflow/workspace/update";
    public const string WorkspaceSwitch = "orchflow/workspace/switch";
    public const string WorkspaceDelete = "orchflow/workspace/delete";
    public const string WorkspaceResolve = "orchflow/workspace/resolve";
    public const string WorkspaceReloadConfig = "orchflow/workspace/reloadConfig";

    /// <summary>Server to client: a workspace was created, updated, deleted, or became this client's active one.</summary>
    public const string WorkspaceChanged = "orchflow/workspace/changed";

    /// <summary>Server to client: the global configuration was reloaded (or failed to load).</summary>
    public const string ConfigChanged = "orchflow/config/changed";
}
