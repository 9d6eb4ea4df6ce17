using Orchflow.Protocol;

namespace Orchflow.Server.Terminals;

/// <summary>
/// What the limits capability does around a terminal's process tree: before it starts (refused while the workspace is
/// suspended; the control group files it joins, with the current limits written) and after it was ended (what of its
/// session is left in the group is killed). Supplied by the workspaces' control groups, which are built before the
/// terminals; waking a suspended workspace on use goes the other way, through <see cref="TerminalService.Used"/>.
/// </summary>
public interface ILaunchLimits
{
    IReadOnlyList<string> PrepareLaunch(WorkspaceInfo ws);

    /// <summary>Returns how many leftover processes were killed.</summary>
    int KillLeftovers(string workspaceId, int sessionId);
}
