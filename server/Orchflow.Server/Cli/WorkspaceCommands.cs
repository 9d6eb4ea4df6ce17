using Orchflow.Protocol;
using Orchflow.Server.Hosting;
using static Orchflow.Server.EnumText;

namespace Orchflow.Server.Cli;

internal static class WorkspaceCommands
{
    /// <param name="input">Where confirm-policy reads a person's answer; the console's standard input by default.</param>
    /// <param name="interactive">Whether that input is a person at a terminal; by default, whether standard input is a terminal.</param>
    public static async Task<int> RunAsync(CommandLine cmd, Output output, OrchflowPaths paths, string workingDirectory, TextReader? input = null, bool? interactive = null)
    {
        var verb = cmd.Positional(1) ?? throw new CliException("Missing workspace command: create, list, show, update, switch, rm, reload, confirm-policy, suspend, resume or audit.");
        bool json = cmd.Flag("json");
        switch (verb)
        {
            case "create":
            {
                var path = cmd.RequirePositional(2, "PATH (the project folder, e.g. `orchflow workspace create .`)");
                var p = new WorkspaceCreateParams
                {
                    Path = Path.GetFullPath(ExpandHome(path), workingDirectory),
                    Name = cmd.Option("name"),
                    Id = cmd.Option("id"),
                    Namespace = cmd.Option("namespace"),
                    WriteConfig = cmd.Flag("write-config"),
                };
                cmd.EnsureNoUnknown(maxPositionals: 3);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var ws = await client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceCreate, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(ws);
                }
                else
                {
                    output.Line($"Created workspace '{ws.Id}' ({ws.Name}, {Lower(ws.Metadata.ProjectType)}) at {ws.RootPath}, namespace {ws.Namespace}.");
                    PrintDiagnostics(output, ws);
                }

                return 0;
            }

            case "list" or "ls":
            {
                cmd.EnsureNoUnknown(maxPositionals: 2);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var result = await client.InvokeAsync<WorkspaceListResult>(Methods.WorkspaceList, new WorkspaceListParams()).ConfigureAwait(false);
                if (json)
                {
                    output.Json(result);
                    return 0;
                }

                output.Table(
                    ["ID", "NAME", "TYPE", "NAMESPACE", "TIER", "GIT", "ROOT"],
                    result.Workspaces.Select(w => (IReadOnlyList<string>)
                    [
                        w.Id + (w.Config.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error) ? " (!)" : "") + (w.Hibernation is null ? "" : " (suspended)")
                            + (w.RootProblem is { } root ? $" (root {Lower(root.Kind)})" : "") + (w.PendingPolicy is { RejectedAt: null } ? " (policy pending)" : ""),
                        w.Name,
                        Lower(w.Metadata.ProjectType),
                        w.Namespace,
                        Tier(w.Isolation),
                        Git(w.Metadata.Vcs),
                        w.RootPath,
                    ]));
                return 0;
            }

            case "show" or "switch" or "rm" or "delete" or "reload":
            {
                // show and reload without an id are about the workspace this call is in (CurrentWorkspace).
                var id = verb is "show" or "reload" ? cmd.Positional(2) : cmd.RequirePositional(2, "workspace ID (see `orchflow workspace list`)");
                cmd.EnsureNoUnknown(maxPositionals: 3);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var reference = new WorkspaceRef { Id = id ?? (await CurrentWorkspace.ImplicitAsync(client, paths, workingDirectory).ConfigureAwait(false)).Reference };
                if (verb is "rm" or "delete")
                {
                    var deleted = await client.InvokeAsync<WorkspaceDeleteResult>(Methods.WorkspaceDelete, reference).ConfigureAwait(false);
                    if (json)
                    {
                        output.Json(deleted);
                    }
                    else
                    {
                        output.Line($"Deleted workspace '{deleted.Id}' (Orchflow's records only; no file was touched).");
                    }

                    return 0;
                }

                var method = verb switch { "switch" => Methods.WorkspaceSwitch, "reload" => Methods.WorkspaceReloadConfig, _ => Methods.WorkspaceShow };
                var ws = await client.InvokeAsync<WorkspaceInfo>(method, reference).ConfigureAwait(false);
                WorkspaceChoice? here = null;
                if (verb == "switch")
                {
                    CurrentWorkspace.Remember(paths, ws.Id);
                    here = await CurrentWorkspace.ImplicitAsync(client, paths, workingDirectory).ConfigureAwait(false);
                }

                if (json)
                {
                    output.Json(ws);
                }
                else if (here is not null)
                {
                    output.Line($"Switched to '{ws.Id}' ({ws.Name}) at {ws.RootPath}.");
                    output.Line(here.Reference == ws.Id
                        ? "Commands without --workspace go there from now on, except inside another workspace's root or an Orchflow terminal."
                        : $"Commands run here without --workspace still go to '{here.Reference}': {here.Because}. Elsewhere they go to '{ws.Id}'.");
                }
                else
                {
                    PrintDetails(output, ws);
                }

                return 0;
            }

            case "suspend" or "resume":
            {
                var id = cmd.RequirePositional(2, "workspace ID (see `orchflow workspace list`)");
                cmd.EnsureNoUnknown(maxPositionals: 3);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var result = await client.InvokeAsync<WorkspaceSuspendResult>(verb == "suspend" ? Methods.WorkspaceSuspend : Methods.WorkspaceResume, new WorkspaceRef { Id = id }).ConfigureAwait(false);
                if (json)
                {
                    output.Json(result);
                }
                else if (verb == "suspend")
                {
                    output.Line($"Suspended '{result.Workspace.Id}': {result.Processes} process(es) stopped ({result.Workspace.Hibernation?.Mechanism})"
                        + (result.Agents.Count > 0 ? $", agents {string.Join(", ", result.Agents)} paused" : "") + ". Resume with `orchflow workspace resume " + result.Workspace.Id + "`.");
                }
                else
                {
                    output.Line($"Resumed '{result.Workspace.Id}': {result.Processes} process(es) continued" + (result.Agents.Count > 0 ? $", agents {string.Join(", ", result.Agents)} resumed" : "") + ".");
                }

                return 0;
            }

            case "audit":
            {
                var id = cmd.RequirePositional(2, "workspace ID (see `orchflow workspace list`)");
                int? tail = cmd.Option("tail") is { } t ? (int.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new CliException("--tail needs a number of entries, at least 1.")) : null;
                cmd.EnsureNoUnknown(maxPositionals: 3);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var audit = await client.InvokeAsync<WorkspaceAuditResult>(Methods.WorkspaceAudit, new WorkspaceAuditParams { Id = id, Limit = tail }).ConfigureAwait(false);
                if (json)
                {
                    output.Json(audit);
                    return 0;
                }

                if (audit.Entries.Count == 0)
                {
                    output.Line($"No audit entries ({audit.Path}).");
                    return 0;
                }

                foreach (var e in audit.Entries)
                {
                    output.Line($"{e.At.ToLocalTime():yyyy-MM-dd HH:mm:ss}  {Lower(e.Kind),-12} {e.Message}{(e.Rule is { } r ? $" [{r}]" : "")}");
                }

                return 0;
            }

            case "update":
            {
                var id = cmd.RequirePositional(2, "workspace ID");
                var p = new WorkspaceUpdateParams { Id = id, Name = cmd.Option("name"), RepoUrl = cmd.Option("repo-url"), Redetect = cmd.Flag("redetect"), AcceptRoot = cmd.Flag("accept-root") };
                cmd.EnsureNoUnknown(maxPositionals: 3);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var ws = await client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceUpdate, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(ws);
                }
                else
                {
                    PrintDetails(output, ws);
                }

                return 0;
            }

            case "confirm-policy":
            {
                var id = cmd.RequirePositional(2, "workspace ID (see `orchflow workspace list`)");
                bool yes = cmd.Flag("yes");
                bool reject = cmd.Flag("reject");
                cmd.EnsureNoUnknown(maxPositionals: 3);
                if (yes && reject)
                {
                    throw new CliException("--yes applies the change and --reject keeps the current policy: pass one of them.");
                }

                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var ws = await client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = id }).ConfigureAwait(false);
                if (ws.RootProblem is { } root)
                {
                    throw new CliException($"Workspace '{ws.Id}': {root.Message}.", 1);
                }

                if (ws.PendingPolicy is not { } pending)
                {
                    throw new CliException($"Workspace '{ws.Id}' has no pending policy change; its policy in force: {PolicySummary(ws.Security)}.", 1);
                }

                var log = json ? output.Error : output.Out;
                PrintPending(log, ws, pending);
                if (!yes && !reject)
                {
                    if (!(interactive ?? RawMode.IsTerminal(RawMode.StdinFd)))
                    {
                        throw new CliException("Standard input is not a terminal, so nobody can be asked. Pass --yes to apply the change, or --reject to keep the current policy.");
                    }

                    log.Write("Apply it? [y/N] ");
                    var answer = (input ?? Console.In).ReadLine()?.Trim();
                    if (answer is not ("y" or "Y" or "yes" or "Yes" or "YES"))
                    {
                        log.WriteLine($"Not applied: the current policy of '{ws.Id}' holds. (`orchflow workspace confirm-policy {ws.Id} --reject` records that you keep it.)");
                        return 1;
                    }
                }

                var decided = await client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceConfirmPolicy, new WorkspacePolicyDecision { Id = ws.Id, Fingerprint = pending.Fingerprint, Reject = reject }).ConfigureAwait(false);
                if (json)
                {
                    output.Json(decided);
                }
                else if (reject)
                {
                    output.Line($"Kept the current policy of '{decided.Id}': {PolicySummary(decided.Security)}. The file is left as it is; the change stays listed until the file changes again.");
                }
                else
                {
                    output.Line($"Applied: the policy of '{decided.Id}' is now {PolicySummary(decided.Security)} ({decided.Isolation.Summary}).");
                }

                return 0;
            }

            default:
                throw new CliException($"Unknown workspace command '{verb}'. Use create, list, show, update, switch, rm, reload, confirm-policy, suspend, resume or audit.");
        }
    }

    /// <summary>What a pending change does, one line per weakening, and what holds meanwhile.</summary>
    private static void PrintPending(TextWriter to, WorkspaceInfo ws, PendingPolicy pending)
    {
        to.WriteLine($"Workspace '{ws.Id}' ({ws.Name}): {ws.Config.Path ?? Path.Combine(ws.RootPath, ".orchflow", "workspace.json")} asks for a weaker policy (seen {pending.SeenAt.ToLocalTime():yyyy-MM-dd HH:mm:ss}):");
        foreach (var change in pending.Changes)
        {
            to.WriteLine($"  - {change}");
        }

        to.WriteLine($"In force until a person confirms: {PolicySummary(ws.Security)}.");
        if (pending.RejectedAt is { } at)
        {
            to.WriteLine($"Kept by {pending.RejectedBy ?? "a person"} at {at.ToLocalTime():yyyy-MM-dd HH:mm:ss}; it can still be applied.");
        }
    }

    private static string PolicySummary(SecurityPolicy s) =>
        $"tier {Lower(s.Tier)}, network {Lower(s.Network)}"
        + (s.Network == NetworkPolicy.Allowlist ? $" ({(s.AllowedHosts.Count > 0 ? string.Join(' ', s.AllowedHosts) : "no host")})" : "")
        + (s.AllowedCommands.Count > 0 ? $", allowed commands: {string.Join(' ', s.AllowedCommands)}" : "")
        + (s.RestrictedPaths.Count > 0 ? $", restricted paths: {string.Join(' ', s.RestrictedPaths)}" : "");

    private static void PrintDetails(Output output, WorkspaceInfo w)
    {
        var limits = w.Metadata.ResourceLimits;
        var rows = new List<(string, string)>
        {
            ("id", w.Id + (w.IsDefault ? " (built-in default)" : "")),
            ("name", w.Name),
            ("root", w.RootPath),
            ("namespace", w.Namespace),
            ("type", Lower(w.Metadata.ProjectType)),
            ("git", w.Metadata.Vcs is { } vcs ? $"{Git(vcs)}{(vcs.Head is { Length: >= 12 } h ? " at " + h[..12] : "")}{(vcs.RemoteUrl is { } r ? ", remote " + r : "")}" : "not a repository"),
            ("repo url", w.RepoUrl ?? "-"),
            ("security", PolicySummary(w.Security)),
            ("isolation", w.Isolation.Summary),
            ("state", w.Hibernation is { } hib ? $"suspended since {hib.Since.ToLocalTime():yyyy-MM-dd HH:mm:ss} by {hib.By} ({hib.Processes} processes stopped, {hib.Mechanism})" : "running"),
            ("limits", $"{limits.MaxAgents} agents, {limits.TerminalLimit} terminals, {limits.ProcessLimit} processes, cpu shares {limits.CpuShares}, memory {(limits.MemoryLimitBytes is { } m ? Config.ByteSize.Format(m) : "unlimited")}"),
            ("models", w.Models.Models.Count > 0 ? string.Join(", ", w.Models.Models) + " (configured; not yet used by this version)" : "-"),
            ("config", w.Config.Path ?? "none (defaults)"),
            ("created", w.CreatedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture)),
            ("last accessed", w.LastAccessed.ToString("u", System.Globalization.CultureInfo.InvariantCulture)),
        };
        if (w.RootProblem is { } root)
        {
            rows.Insert(3, ("root state", root.Message));
        }

        foreach (var (k, v) in rows)
        {
            output.Line($"{k + ":",-15}{v}");
        }

        if (w.PendingPolicy is { } pending)
        {
            PrintPending(output.Out, w, pending);
            output.Line($"  Apply it with `orchflow workspace confirm-policy {w.Id}`, or keep the current policy with `--reject`.");
        }

        foreach (var f in w.Isolation.Features)
        {
            output.Line($"  {(f.Enforced ? "enforced" : "NOT enforced"),-13}{f.Name}: {f.Detail}");
        }

        foreach (var reason in w.Isolation.Reasons)
        {
            output.Line($"  note: {reason}");
        }

        PrintDiagnostics(output, w);
    }

    private static void PrintDiagnostics(Output output, WorkspaceInfo w)
    {
        foreach (var d in w.Config.Diagnostics)
        {
            output.Line($"  {d.File}:{d.Line}:{d.Column}: {Lower(d.Severity)}: {d.Message}");
        }

        if (w.Config.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error))
        {
            output.Line("  The config file has errors; the last good config stays in force until they are fixed.");
        }
    }

    /// <summary>The tier as enforced; a tier requested but not enforced says so.</summary>
    internal static string Tier(WorkspaceIsolation i) =>
        i.EnforcedTier == i.RequestedTier ? Lower(i.EnforcedTier) : $"{Lower(i.RequestedTier)} (NOT enforced: {Lower(i.EnforcedTier)})";

    private static string Git(VcsInfo? vcs) => vcs is null ? "-" : $"{vcs.Branch ?? "detached"}{(vcs.Dirty ? " (dirty)" : "")}";

    private static string ExpandHome(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
            ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path[1..]
            : path;
}
