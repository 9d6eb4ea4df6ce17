using Orchflow.Protocol;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// Keeps a workspace's security policy from being weakened from inside it: what a config file strengthens applies at
/// once, what it weakens waits (<see cref="Workspace.Pending"/>) for a person's answer. Every hold, confirmation and
/// rejection is audited. Called under the registry's lock.
/// </summary>
internal sealed class WorkspacePolicies(WorkspaceAuditNotes notes, Log log, TimeProvider time)
{
    /// <summary>
    /// Puts the policy a config file asks for in force, as far as it is not weaker than the one in force: whatever it
    /// strengthens applies at once, and what it weakens waits as <see cref="Workspace.Pending"/> for a person. Returns
    /// true when the policy in force or the pending request changed.
    /// </summary>
    public bool ApplyRequested(Workspace ws, SecurityPolicy requested, bool fileRemoved)
    {
        var held = ws.Policy;
        var weakenings = PolicyChange.Weakenings(held, requested, fileRemoved);
        if (weakenings.Count == 0)
        {
            bool changed = !PolicyChange.Same(held, requested) || ws.Pending is not null;
            if (ws.Pending is not null)
            {
                notes.Add(ws, AuditKind.PolicyChanged, "The config file no longer asks for a weaker policy; the pending change is withdrawn.", WorkspaceService.ConfirmationRule);
            }

            ws.Policy = requested;
            ws.Pending = null;
            return changed;
        }

        var request = new PolicyRequest(requested, fileRemoved, time.GetUtcNow());
        if (ws.Pending is { } same && same.Fingerprint == request.Fingerprint)
        {
            request = same; // the same request read again: it keeps when it was seen and whether it was rejected
        }
        else
        {
            notes.Add(ws, AuditKind.PolicyChanged,
                $"{(fileRemoved ? "The config file was removed" : "The config file asks for a weaker policy")}: it {string.Join("; ", weakenings)}. The current policy ({PolicyChange.Describe(held)}) holds until a person confirms with `orchflow workspace confirm-policy {ws.Id}` or in VS Code.",
                WorkspaceService.ConfirmationRule);
            log.Warn($"Workspace {ws.Id}: {ws.ConfigPath} asks for a weaker policy ({string.Join("; ", weakenings)}); held until a person confirms it");
        }

        var policy = PolicyChange.Strictest(held, requested);
        bool visible = !PolicyChange.Same(held, policy) || ws.Pending != request;
        ws.Policy = policy;
        ws.Pending = request;
        return visible;
    }

    /// <summary>
    /// A person's (<paramref name="by"/>) answer to the pending weaker policy, which must be the one named by
    /// <paramref name="fingerprint"/>: apply it, or (<paramref name="reject"/>) keep the current one.
    /// </summary>
    public void Decide(Workspace ws, string fingerprint, bool reject, string by)
    {
        if (ws.Pending is not { } pending)
        {
            throw new OrchflowException(ErrorCodes.NotFound, $"Workspace '{ws.Id}' has no pending policy change: its config file asks for nothing weaker than the policy in force.",
                "A change that lowers the tier, widens allowed_commands or the network, or unhides a path is listed by `orchflow workspace show` while it waits.");
        }

        var changes = PolicyChange.Weakenings(ws.Policy, pending.Requested, pending.FileRemoved);
        if (pending.Fingerprint != fingerprint)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument,
                $"The pending policy change of workspace '{ws.Id}' is not the one you were shown (the file changed since); now it {string.Join("; ", changes)}.",
                $"Review it again (`orchflow workspace confirm-policy {ws.Id}` shows it) and answer that one.");
        }

        if (reject)
        {
            ws.Pending = pending with { RejectedAt = time.GetUtcNow(), RejectedBy = by };
            notes.Add(ws, AuditKind.PolicyChanged, $"{by} kept the current policy ({PolicyChange.Describe(ws.Policy)}) instead of the config file's, which {string.Join("; ", changes)}. The file stays as it is.", WorkspaceService.ConfirmationRule, by);
            log.Info($"Workspace {ws.Id}: pending policy change rejected by {by}");
        }
        else
        {
            var before = ws.Policy;
            ws.Policy = pending.Requested;
            ws.Pending = null;
            notes.Add(ws, AuditKind.PolicyChanged, $"{by} confirmed the config file's weaker policy, which {string.Join("; ", changes)}: {PolicyChange.Describe(before)} → {PolicyChange.Describe(ws.Policy)}.", WorkspaceService.ConfirmationRule, by);
            log.Info($"Workspace {ws.Id}: pending policy change confirmed by {by}");
        }
    }
}
