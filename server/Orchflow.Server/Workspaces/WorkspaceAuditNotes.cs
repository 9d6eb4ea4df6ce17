using Orchflow.Protocol;
using Orchflow.Server.Security;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// The registry's audit entries, made while it holds its lock and handed to the audit log after it lets go, so that
/// nothing the audit log does (writing, notifying clients) runs under the registry lock.
/// </summary>
internal sealed class WorkspaceAuditNotes(AuditLog audit)
{
    private readonly object _gate = new();
    private readonly List<WorkspaceAuditNote> _notes = [];

    public void Add(Workspace ws, AuditKind kind, string message, string rule, string? subject = null)
    {
        lock (_gate)
        {
            _notes.Add(new WorkspaceAuditNote(ws.Id, kind, message, rule, subject));
        }
    }

    /// <summary>Hands the entries made so far to the audit log; call it outside the registry lock.</summary>
    public void Flush()
    {
        List<WorkspaceAuditNote> notes;
        lock (_gate)
        {
            if (_notes.Count == 0)
            {
                return;
            }

            notes = [.. _notes];
            _notes.Clear();
        }

        foreach (var note in notes)
        {
            audit.Add(note.WorkspaceId, note.Kind, note.Message, note.Rule, note.Subject);
        }
    }
}

/// <summary>An entry for a workspace's audit log, made by the registry under its lock and written outside it.</summary>
public sealed record WorkspaceAuditNote(string WorkspaceId, AuditKind Kind, string Message, string? Rule = null, string? Subject = null);
