using System.Globalization;
using System.Threading.Channels;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Cli;

/// <summary>
/// <c>orchflow agent wait ID --until needs-input|done</c>: subscribes to <c>orchflow/agent/changed</c> first and then
/// reads the agent, so no change between the two is missed; ends with 0 when the goal is reached, 1 when the agent ends
/// (or is removed) the other way, and <see cref="TimeoutExitCode"/> when --timeout passes first.
/// </summary>
internal static class AgentWait
{
    /// <summary>Exit code of <c>agent wait</c> when its --timeout passes first.</summary>
    public const int TimeoutExitCode = 3;

    private enum Goal
    {
        NeedsInput,
        Done,
    }

    public static async Task<int> RunAsync(CommandLine cmd, Output output, OrchflowPaths paths)
    {
        bool json = cmd.Flag("json");
        var id = cmd.RequirePositional(2, AgentCommands.IdHint);
        var goal = cmd.Option("until") switch
        {
            "needs-input" => Goal.NeedsInput,
            "done" => Goal.Done,
            null => throw new CliException("Missing --until needs-input|done: what to wait for."),
            var other => throw new CliException($"Unknown --until '{other}'. Use needs-input (it waits for an answer) or done (it ended, however)."),
        };
        var timeout = ParseSeconds(cmd.Option("timeout"));
        cmd.EnsureNoUnknown(maxPositionals: 3);
        var what = goal == Goal.NeedsInput ? "need input" : "end";

        // null: the connection was lost.
        var changes = Channel.CreateUnbounded<AgentChangedNotification?>(new UnboundedChannelOptions { SingleReader = true });
        await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true, register: rpc =>
            DaemonClient.On<AgentChangedNotification>(rpc, Methods.AgentChanged, n =>
            {
                if (n.Id == id)
                {
                    changes.Writer.TryWrite(n);
                }
            })).ConfigureAwait(false);
        client.Rpc.Disconnected += (_, _) => changes.Writer.TryWrite(null);

        // Subscribed first, then read: a change in between is already in the channel.
        var a = await client.InvokeAsync<AgentInfo>(Methods.AgentShow, new AgentRef { Id = id }).ConfigureAwait(false);
        using var timer = timeout is { } t ? new CancellationTokenSource(t) : new CancellationTokenSource();
        while (true)
        {
            if (goal == Goal.NeedsInput && a.State == AgentState.NeedsInput)
            {
                if (json)
                {
                    output.Json(a);
                }
                else
                {
                    output.Line($"{a.Id} needs input: {a.LastLine}");
                    AgentFormat.PrintQuestion(a, output);
                }

                return 0;
            }

            if (AgentFormat.IsFinal(a.State))
            {
                if (json)
                {
                    output.Json(a);
                }
                else
                {
                    output.Line($"{a.Id} {AgentFormat.State(a)}");
                }

                if (goal == Goal.NeedsInput)
                {
                    output.Fail($"agent '{a.Id}' ended ({AgentFormat.State(a)}) without asking for input.");
                    return 1;
                }

                if (a.State == AgentState.Succeeded)
                {
                    return 0;
                }

                output.Fail($"agent '{a.Id}' {AgentFormat.Kebab(a.State)}: {a.Message ?? "no reason was recorded"}");
                return 1;
            }

            AgentChangedNotification? n;
            try
            {
                n = await changes.Reader.ReadAsync(timer.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                output.Fail($"Timed out after {timeout!.Value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s waiting for agent '{a.Id}' to {what}; it is {AgentFormat.State(a)}.");
                return TimeoutExitCode;
            }

            if (n is null)
            {
                throw new RemoteFailure("The connection to the Orchflow daemon was lost.", "See the daemon log with `orchflow daemon status`.", [], 0);
            }

            if (n.Kind == AgentChangeKind.Removed)
            {
                output.Fail($"agent '{a.Id}' was removed while waiting for it to {what}.");
                return 1;
            }

            a = n.Agent ?? a;
        }
    }

    private static TimeSpan? ParseSeconds(string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (!double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0 || seconds > int.MaxValue / 1000)
        {
            throw new CliException($"--timeout needs a number of seconds greater than 0 (e.g. 30 or 0.5), not '{value}'.");
        }

        return TimeSpan.FromSeconds(seconds);
    }
}
