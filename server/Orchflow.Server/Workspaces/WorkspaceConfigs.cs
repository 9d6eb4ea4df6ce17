using Orchflow.Config;
using Orchflow.Protocol;
using Orchflow.Server.Configuration;
using Orchflow.Server.Hosting;
using Orchflow.Server.Storage;
using ProtocolDiagnostic = Orchflow.Protocol.Diagnostic;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// Each workspace's config file (.orchflow/workspace.toml) in force: read when a workspace is created, re-read when it
/// changes, and kept as the last good text so a restart or a broken edit loses nothing. Never read while the root is
/// not the registered folder (<see cref="WorkspaceRoots"/>); the policy a file asks for goes through
/// <see cref="WorkspacePolicies"/>. Called under the registry's lock, except <see cref="ReadNewAsync"/>.
/// </summary>
internal sealed class WorkspaceConfigs(WorkspaceTable table, WorkspaceRoots roots, WorkspacePolicies policies, WorkspaceStore store, Log log, TimeProvider time)
{
    /// <summary>The config file of a folder being registered, with its text; refuses an invalid one; null when there is none.</summary>
    public static async Task<(WorkspaceFileConfig Config, IReadOnlyList<ProtocolDiagnostic> Diagnostics, string Text)?> ReadNewAsync(string root, CancellationToken cancellationToken)
    {
        var configPath = Path.Combine(root, WorkspaceConfigLoader.RelativePath);
        if (!File.Exists(configPath))
        {
            return null;
        }

        var result = WorkspaceConfigLoader.Load(configPath);
        var diagnostics = result.Diagnostics.Select(DiagnosticMapper.ToProtocol).ToList();
        if (!result.Ok)
        {
            throw new OrchflowException(ErrorCodes.InvalidConfig,
                $"{configPath} is invalid: {FirstError(diagnostics)}",
                "Fix the file (every problem is listed with its line and column), then create the workspace again.",
                diagnostics);
        }

        var text = await File.ReadAllTextAsync(configPath, cancellationToken).ConfigureAwait(false);
        return (result.Value!, diagnostics, text);
    }

    /// <summary>Applies the stored last good config at start, before the file on disk is looked at.</summary>
    public static void LoadStored(Workspace ws)
    {
        if (ws.Record.LastGoodConfigText is { } text)
        {
            var stored = WorkspaceConfigLoader.Parse(text, ws.ConfigPath);
            if (stored.Ok)
            {
                ws.Config = stored.Value;
                ws.ConfigLoadedAt = ws.Record.LastGoodConfigAt is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null;
            }
        }
    }

    /// <summary>
    /// Looks at the root, then reads the workspace's config file if it changed (or always, when forced), unless the
    /// root is not the registered folder. Returns true when anything visible changed.
    /// </summary>
    public bool Refresh(Workspace ws, bool force)
    {
        bool rootChanged = roots.Check(ws);
        if (ws.RootProblem is not null)
        {
            return rootChanged; // another folder's config is never applied; the last policy holds
        }

        var path = ws.ConfigPath;
        var stamp = FileStamp.Of(path);
        if (!force && !rootChanged && stamp == ws.ConfigStamp)
        {
            return false;
        }

        ws.ConfigStamp = stamp;
        if (!stamp.Exists)
        {
            bool had = ws.Config is not null || ws.ConfigDiagnostics.Count > 0;
            ws.Config = null;
            ws.ConfigDiagnostics = [];
            ws.Record.LastGoodConfigText = null;
            ws.Record.LastGoodConfigAt = null;
            bool policyChanged = policies.ApplyRequested(ws, PolicyChange.Defaults, fileRemoved: true);
            if (had || policyChanged)
            {
                store.Update(ws.Record);
            }

            return had || policyChanged || rootChanged;
        }

        // Load enforces the size limit and UTF-8; the text is kept so the last good config survives restarts.
        var result = WorkspaceConfigLoader.Load(path);
        string? text = null;
        if (result.Ok)
        {
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                result = new ConfigResult<WorkspaceFileConfig>(null, [new ConfigDiagnostic(path, 1, 1, $"cannot read the file: {ex.Message}", Orchflow.Config.DiagnosticSeverity.Error)]);
            }
        }

        var diagnostics = result.Diagnostics.Select(DiagnosticMapper.ToProtocol).ToList();
        if (result.Ok)
        {
            Apply(ws, result.Value!, text!, diagnostics);
        }
        else
        {
            log.Warn($"{path} is invalid; workspace {ws.Id} keeps its last good config: {FirstError(diagnostics)}");
        }

        ws.ConfigDiagnostics = diagnostics;
        return true;
    }

    /// <summary>Puts a valid config in force: name, namespace (when free), policy, and the text as the last good one.</summary>
    private void Apply(Workspace ws, WorkspaceFileConfig config, string text, List<ProtocolDiagnostic> diagnostics)
    {
        var path = ws.ConfigPath;
        if (config.Id is { } fileId && fileId != ws.Id)
        {
            diagnostics.Add(new ProtocolDiagnostic
            {
                File = path, Line = 1, Column = 1, Severity = Protocol.DiagnosticSeverity.Warning,
                Message = $"workspace.id '{fileId}' differs from the registered id '{ws.Id}'; ids are fixed when a workspace is created: delete and re-create it to change the id.",
            });
        }

        if (config.Name is { } name && name != ws.Config?.Name)
        {
            ws.Record.Name = name;
        }

        if (config.Namespace.Prefix is { } prefix && prefix != ws.Namespace)
        {
            if (table.NamespaceOwner(prefix, except: ws) is { } owner)
            {
                diagnostics.Add(new ProtocolDiagnostic
                {
                    File = path, Line = 1, Column = 1, Severity = Protocol.DiagnosticSeverity.Error,
                    Message = $"namespace.prefix '{prefix}' is already used by workspace '{owner.Id}'; keeping '{ws.Namespace}'.",
                });
            }
            else
            {
                ws.Record.Namespace = prefix;
                ws.Record.NamespaceExplicit = true;
            }
        }

        ws.Config = config;
        ws.ConfigLoadedAt = time.GetUtcNow();
        ws.Record.LastGoodConfigText = text;
        ws.Record.LastGoodConfigAt = ws.ConfigLoadedAt.Value.UtcDateTime;
        policies.ApplyRequested(ws, WorkspaceMapper.RequestedPolicy(config), fileRemoved: false);
        store.Update(ws.Record);
    }

    /// <summary>The first error of a config file's diagnostics (or its first diagnostic), as "line:column: message".</summary>
    public static string FirstError(IReadOnlyList<ProtocolDiagnostic> diagnostics)
    {
        var d = diagnostics.FirstOrDefault(d => d.Severity == Protocol.DiagnosticSeverity.Error) ?? diagnostics.FirstOrDefault();
        return d is null ? "unknown problem" : $"{d.Line}:{d.Column}: {d.Message}";
    }
}
