using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// Which folder each workspace's root is (device and inode, <see cref="RootIdentity"/>): notices a root replaced,
/// missing or back, and lets a person adopt a replacement. Every change of state is audited. Called under the
/// registry's lock.
/// </summary>
internal sealed class WorkspaceRoots(WorkspaceStore store, WorkspaceAuditNotes notes, Log log, TimeProvider time)
{
    /// <summary>
    /// Compares the folder at the root path with the one registered, and records the state: a problem (replaced or
    /// missing), audited when it begins and when it ends. A workspace without a recorded identity (a database from
    /// before roots were identified) gets the folder there now, with an audit note. Returns true when the state changed.
    /// </summary>
    public bool Check(Workspace ws)
    {
        var found = RootIdentity.Of(ws.RootPath, out var missing);
        if (ws.Identity is null && found is not null)
        {
            ws.Identity = found;
            store.Update(ws.Record);
            notes.Add(ws, AuditKind.PolicyChanged,
                $"Recorded which folder the root {ws.RootPath} is ({found}); it was registered before Orchflow identified roots. From now on another folder put at this path is not this workspace.",
                WorkspaceService.RootRule);
        }

        string? why = found is null ? missing : ws.Identity!.Differs(found);
        if (why is null)
        {
            if (ws.RootProblem is null)
            {
                return false;
            }

            notes.Add(ws, AuditKind.PolicyChanged, $"The registered folder is back at {ws.RootPath} ({found}); its config is read again and launches are allowed.", WorkspaceService.RootRule);
            log.Info($"Workspace {ws.Id}: the registered root is back at {ws.RootPath}");
            ws.RootProblem = null;
            return true;
        }

        var kind = found is null ? RootProblemKind.Missing : RootProblemKind.Replaced;
        if (ws.RootProblem is { } known && known.Kind == kind && known.Found == found?.ToString())
        {
            return false;
        }

        var message = kind == RootProblemKind.Replaced
            ? $"root replaced: the folder at {ws.RootPath} is not the one registered ({why}); run `orchflow workspace update {ws.Id} --accept-root` to adopt it, as a person"
            : $"root missing: {why}; put the workspace's folder back, or delete the workspace with `orchflow workspace rm {ws.Id}`";
        ws.RootProblem = new WorkspaceRootProblem
        {
            Kind = kind,
            Message = message,
            Registered = ws.Identity?.ToString() ?? "not recorded",
            Found = found?.ToString(),
            SeenAt = time.GetUtcNow(),
        };
        notes.Add(ws, AuditKind.PolicyChanged,
            $"The {message}. Its config is not read, the policy in force ({PolicyChange.Describe(ws.Policy)}) stays, and nothing is launched there" + (found is null ? "." : $" (registered: {ws.RootProblem.Registered}; found: {found})."),
            WorkspaceService.RootRule);
        log.Warn($"Workspace {ws.Id}: {message}");
        return true;
    }

    /// <summary>
    /// Records the folder now at the root path as the workspace's root, a person's (<paramref name="by"/>) decision;
    /// refuses when there is no folder there or it is the registered one. The caller reads its config next.
    /// </summary>
    public void Adopt(Workspace ws, string by)
    {
        var found = RootIdentity.Of(ws.RootPath, out var missing)
            ?? throw new OrchflowException(ErrorCodes.NotAllowed, $"There is no folder to adopt: {missing}.", $"Put the workspace's folder back at {ws.RootPath}, or delete the workspace with `orchflow workspace rm {ws.Id}`.");
        if (ws.Identity is { } registered && registered.Differs(found) is null)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The folder at {ws.RootPath} is the one registered for workspace '{ws.Id}' ({registered}); there is nothing to accept.",
                "--accept-root is for a root that was replaced by another folder.");
        }

        var before = ws.Identity;
        ws.Identity = found;
        ws.RootProblem = null;
        notes.Add(ws, AuditKind.PolicyChanged,
            $"{by} adopted the folder at {ws.RootPath} ({found}) as this workspace's root, instead of {before?.ToString() ?? "the unrecorded one"}. Its config file is read now; anything in it that weakens the policy waits for confirmation.",
            WorkspaceService.RootRule, by);
        log.Info($"Workspace {ws.Id}: root {ws.RootPath} adopted by {by} ({found})");
    }

    /// <summary>What a person does about the workspace's root problem.</summary>
    public static string Hint(Workspace ws) => ws.RootProblem?.Kind == RootProblemKind.Replaced
        ? $"If the new folder is meant to be this workspace, a person adopts it with `orchflow workspace update {ws.Id} --accept-root` (or Adopt Folder in VS Code); otherwise put the registered folder back at {ws.RootPath}."
        : $"Put the workspace's folder back at {ws.RootPath}, or delete the workspace with `orchflow workspace rm {ws.Id}`.";
}
