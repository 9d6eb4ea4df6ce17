using Orchflow.Protocol;

namespace Orchflow.Server.Agents;

/// <summary>
/// What <see cref="AgentService"/> accepts for an agent as it was last published: its guards for send, answer, pause,
/// resume, stop, restart and remove, read from the published state, terminal and menu. <see cref="AgentInfo.Actions"/>
/// carries the result to every client, so none of them keeps its own copy of these rules; <c>AgentActionsTests</c>
/// drives the service in every state and checks that it accepts exactly these.
/// A stop, restart or remove under way makes the service refuse everything for that moment ("being stopped"); that
/// moment is never published, so it is not part of this answer.
/// </summary>
public static class AgentActions
{
    private static readonly IReadOnlyList<AgentAction>[] Table = BuildTable();

    /// <summary>The actions of the agent as published (<paramref name="agent"/> is its snapshot).</summary>
    public static IReadOnlyList<AgentAction> For(AgentInfo agent) =>
        For(agent.State, hasTerminal: agent.TerminalId is not null, hasMenu: agent.Choices is { Count: > 0 });

    /// <summary>The actions of an agent in <paramref name="state"/>, with or without a terminal and a menu on its screen.</summary>
    public static IReadOnlyList<AgentAction> For(AgentState state, bool hasTerminal, bool hasMenu) =>
        Table[Index(state, hasTerminal, hasMenu)];

    /// <summary>Every combination the answer depends on, for the table clients' tests read from the schema.</summary>
    public static IEnumerable<(AgentState State, bool HasTerminal, bool HasMenu)> Cases() =>
        from state in Enum.GetValues<AgentState>()
        from terminal in new[] { true, false }
        from menu in new[] { true, false }
        select (state, terminal, menu);

    private static int Index(AgentState state, bool hasTerminal, bool hasMenu) => ((int)state * 4) + (hasTerminal ? 2 : 0) + (hasMenu ? 1 : 0);

    private static IReadOnlyList<AgentAction>[] BuildTable()
    {
        var table = new IReadOnlyList<AgentAction>[Enum.GetValues<AgentState>().Length * 4];
        foreach (var (state, terminal, menu) in Cases())
        {
            table[Index(state, terminal, menu)] = Enum.GetValues<AgentAction>().Where(a => Allows(a, state, terminal, menu)).ToArray();
        }

        return table;
    }

    private static bool Allows(AgentAction action, AgentState state, bool hasTerminal, bool hasMenu)
    {
        // Its process runs and is not stopped: input reaches it, and pause has a session to signal.
        bool takesInput = state is (AgentState.Starting or AgentState.Running or AgentState.NeedsInput) && hasTerminal;
        return action switch
        {
            AgentAction.Send => takesInput,
            AgentAction.Answer => takesInput && state == AgentState.NeedsInput && hasMenu,
            AgentAction.Pause => takesInput,
            AgentAction.Resume => state == AgentState.Paused && hasTerminal,
            AgentAction.Stop => AgentService.IsActive(state),
            AgentAction.Restart => state != AgentState.Queued,
            AgentAction.Remove => true,
            AgentAction.ShowTerminal => hasTerminal,
            _ => false,
        };
    }
}
