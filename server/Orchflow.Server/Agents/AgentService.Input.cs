using System.Globalization;
using Orchflow.Protocol;
using Orchflow.Server.Terminals;

namespace Orchflow.Server.Agents;

/// <summary>
/// What reaches a running agent from outside its terminal: a person's input (<see cref="Send"/>, <see cref="Answer"/>,
/// both through <see cref="GiveInput"/>), and what the agent says about itself through Orchflow's MCP server
/// (<see cref="McpReady"/>, <see cref="ReportStatus"/>).
/// </summary>
public sealed partial class AgentService
{
    /// <summary>Types into the agent's terminal (text as typed; "\r" submits) and clears needsInput.</summary>
    public AgentInfo Send(string id, string text, string? by)
    {
        if (string.IsNullOrEmpty(text))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "The text is empty.", "Send the answer as typed, with \"\\r\" to submit it.");
        }

        return GiveInput(id, by, _ => new Input(text, wasWaiting =>
            $"{id} got input from {by ?? "a client"}" + (wasWaiting ? "" : " (it was not waiting)") + $": {AgentEvents.Short(text.TrimEnd('\r', '\n'))}"));
    }

    /// <summary>
    /// Picks a choice of the menu the agent's screen shows (<see cref="AgentChoices.Resolve"/>) by typing its keys, as
    /// <see cref="Send"/> types text. Refused, with what to do instead, when the agent does not wait, when its screen
    /// shows no menu, and when <paramref name="question"/> is given but the screen asks something else by now: an answer
    /// never lands on a question nobody saw.
    /// </summary>
    public AgentInfo Answer(string id, string choice, string? question, string? by) =>
        GiveInput(id, by, agent =>
        {
            if (agent.State != AgentState.NeedsInput)
            {
                throw new OrchflowException(ErrorCodes.NotAllowed, $"Agent '{id}' is {AgentMapper.Name(agent.State)}; nothing to answer.",
                    $"Answer when it needs input: `orchflow agent wait {id} --until needs-input` waits for that.");
            }

            if (agent.Choices is not { Count: > 0 } choices)
            {
                throw new OrchflowException(ErrorCodes.NotAllowed,
                    $"Agent '{id}' needs input, but its screen shows no menu to pick from" + (agent.Question is { } q ? $" (it asks \"{q}\")." : $" (its last line: \"{agent.LastLine}\")."),
                    $"Type the answer instead: `orchflow agent send {id} 'text\\r'`.");
            }

            var asked = agent.Question ?? "";
            if (question is not null && AgentChoices.Normalize(question) != AgentChoices.Normalize(asked))
            {
                throw new OrchflowException(ErrorCodes.NotAllowed,
                    $"The question changed: it now asks \"{asked}\" ({AgentChoices.List(choices)}), not \"{AgentChoices.Normalize(question)}\".",
                    $"Read it with `orchflow agent show {id}` and answer that question, or leave it.");
            }

            var (_, picked) = AgentChoices.Resolve(choices, choice, id);
            return new Input(picked.Keys, _ => $"{id} answered \"{picked.Label}\" to \"{asked}\" (by {by ?? "a client"})");
        });

    /// <summary>What <see cref="GiveInput"/> types, and the event line it records (given whether the agent was waiting).</summary>
    private sealed record Input(string Text, Func<bool, string> EventLine);

    /// <summary>
    /// The one path of a person's input to an agent (send and answer): checked and recorded under the lock, then written
    /// to its PTY outside it. <paramref name="prepare"/> runs under the lock, after the agent is known to take input, and
    /// may refuse.
    /// </summary>
    private AgentInfo GiveInput(string id, string? by, Func<Agent, Input> prepare)
    {
        Terminal terminal;
        AgentInfo view;
        Input input;
        lock (_agents.Gate)
        {
            var agent = _agents.Get(id);
            if (agent.State is not (AgentState.Starting or AgentState.Running or AgentState.NeedsInput) || agent.Run is null || agent.TerminalId is null || agent.Stopping)
            {
                throw NotAllowed(agent, "receive input", agent.State == AgentState.Paused ? $"Resume it first: `orchflow agent resume {id}`." : null);
            }

            terminal = _terminals.Get(agent.TerminalId);
            if (!terminal.IsRunning || terminal.Process is null)
            {
                throw NotAllowed(agent, "receive input", null);
            }

            input = prepare(agent);

            // Recorded before the write, under the lock: an agent that answers at once and exits must still show the
            // input before its end (its exit is handled under this lock too, after the write), and the echo of the
            // answer already counts as output after the input.
            agent.Run.Detector.InputGiven();
            bool wasWaiting = agent.State == AgentState.NeedsInput;
            if (wasWaiting)
            {
                agent.State = AgentState.Running;
                agent.NeedsInputSince = null;
            }

            _publisher.AddEvent(agent, AgentEventKind.InputGiven, input.EventLine(wasWaiting), by: by);
            _publisher.Publish(agent);
            view = _mapper.View(agent);
        }

        // Straight to the PTY rather than through TerminalService.Input, whose observer call would report the input a
        // second time as typed in the terminal; a full input buffer may block here, outside the lock.
        try
        {
            terminal.Write(input.Text);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            throw new OrchflowException(ErrorCodes.NotAllowed, $"Agent '{id}' ended before the input reached it: {e.Message}", $"Run `orchflow agent show {id}` to see how it ended.");
        }

        return view;
    }

    /// <summary>
    /// The agent's MCP client (its CLI) has listed Orchflow's tools: recorded once per run, with an event, and a task
    /// held at the CLI's first prompt for this (see <see cref="AgentDetection.McpConnectGrace"/>) is typed on the next detection pass.
    /// </summary>
    public void McpReady(string id, string? client)
    {
        lock (_agents.Gate)
        {
            var agent = _agents.Get(id);
            if (agent.Run is null || agent.McpConnectedAt is not null)
            {
                return;
            }

            var now = _time.GetUtcNow();
            agent.McpConnectedAt = now;
            var after = agent.StartedAt is { } started ? $" ({(now - started).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s after its start)" : "";
            _publisher.AddEvent(agent, AgentEventKind.McpConnected, $"{id}: {client ?? "its MCP client"} connected to Orchflow's MCP server{after}", by: client);
            _publisher.Publish(agent);
        }

        _detection.Wake();
    }

    /// <summary>
    /// What the agent says about itself through Orchflow's MCP server: it waits for the user (needsInput, like a detected
    /// prompt), it is done (a done event, like a done pattern: it runs on until it exits), or it works again.
    /// </summary>
    public AgentInfo ReportStatus(string id, McpAgentStatus status, string? message, string? by)
    {
        var text = string.IsNullOrWhiteSpace(message) ? null : AgentEvents.Short(message);
        lock (_agents.Gate)
        {
            var agent = _agents.Get(id);
            if (agent.Run is null || agent.Stopping || agent.State is not (AgentState.Starting or AgentState.Running or AgentState.NeedsInput))
            {
                throw NotAllowed(agent, "report a status", null);
            }

            switch (status)
            {
                case McpAgentStatus.NeedsInput:
                    if (agent.State != AgentState.NeedsInput)
                    {
                        agent.State = AgentState.NeedsInput;
                        agent.NeedsInputSince = _time.GetUtcNow();

                        // Its question is in the message; a menu an earlier screen showed is not this one.
                        agent.Question = null;
                        agent.Choices = null;
                    }

                    agent.WaitingOnScreen = false;

                    agent.Message = text is null ? "Waits for input (reported by the agent)." : $"Asks: {text}";
                    _publisher.AddEvent(agent, AgentEventKind.NeedsInput, $"{id} needs input (it says so)" + (text is null ? "" : $": {text}"), by: by);
                    break;
                case McpAgentStatus.Done:
                    agent.DoneAt = _time.GetUtcNow();
                    agent.Message = text is null ? "Reports done." : $"Reports done: {text}";
                    _publisher.AddEvent(agent, AgentEventKind.Done, $"{id} reports done" + (text is null ? "" : $": {text}"), by: by);
                    break;
                default:
                    if (agent.State is AgentState.NeedsInput or AgentState.Starting)
                    {
                        agent.State = AgentState.Running;
                        agent.NeedsInputSince = null;
                    }

                    agent.Message = text ?? agent.Message;
                    break;
            }

            _publisher.Publish(agent);
            return _mapper.View(agent);
        }
    }
}
