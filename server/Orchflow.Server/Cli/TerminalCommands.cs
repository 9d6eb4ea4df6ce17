using System.Globalization;
using System.Text;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Cli;

/// <summary>
/// <c>orchflow terminal ...</c>: every verb is one request to the daemon, except <c>attach</c>, which hands the
/// caller's terminal to an <see cref="AttachSession"/> until detach.
/// </summary>
internal static class TerminalCommands
{
    private const string Verbs = "create, list, send, read, kill or attach";
    private const string IdHint = "terminal ID (see `orchflow terminal list`)";

    public static async Task<int> RunAsync(CommandLine cmd, Output output, OrchflowPaths paths, string workingDirectory)
    {
        var verb = cmd.Positional(1) ?? throw new CliException($"Missing terminal command: {Verbs}.");
        switch (verb)
        {
            case "create" or "new":
            {
                bool json = cmd.Flag("json");
                var cwd = cmd.Option("cwd");
                var command = cmd.Option("cmd");
                if (command is { } c && string.IsNullOrWhiteSpace(c))
                {
                    throw new CliException("--cmd needs a command line (leave it out for an interactive shell).");
                }

                var p = new TerminalCreateParams
                {
                    WorkspaceId = cmd.Option("workspace"),
                    Name = cmd.Option("name"),
                    Purpose = ParsePurpose(cmd.Option("purpose")),
                    Command = command,
                    Cwd = cwd is null ? null : Path.GetFullPath(ExpandHome(cwd), workingDirectory),
                };
                cmd.EnsureNoUnknown(maxPositionals: 2);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                p = p with { WorkspaceId = await CurrentWorkspace.IdAsync(p.WorkspaceId, client, paths, workingDirectory).ConfigureAwait(false) };
                var t = await client.InvokeAsync<TerminalInfo>(Methods.TerminalCreate, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(t);
                }
                else
                {
                    output.Line($"Created terminal '{t.Id}' ({t.Name}) in workspace '{t.WorkspaceId}'.");
                }

                return 0;
            }

            case "list" or "ls":
            {
                bool json = cmd.Flag("json");
                var p = new TerminalListParams { WorkspaceId = cmd.Option("workspace") };
                cmd.EnsureNoUnknown(maxPositionals: 2);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var result = await client.InvokeAsync<TerminalListResult>(Methods.TerminalList, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(result);
                    return 0;
                }

                output.Table(
                    ["ID", "WORKSPACE", "NAME", "PURPOSE", "STATUS", "PID", "COMMAND"],
                    result.Terminals.Select(t => (IReadOnlyList<string>)
                    [
                        t.Id,
                        t.WorkspaceId,
                        t.Name,
                        t.Purpose.ToString().ToLowerInvariant(),
                        Status(t),
                        t.Pid?.ToString(CultureInfo.InvariantCulture) ?? "-",
                        CommandLineText(t.Command),
                    ]));
                return 0;
            }

            case "send":
            {
                bool json = cmd.Flag("json");
                var id = cmd.RequirePositional(2, IdHint);
                var text = cmd.RequirePositional(3, @"TEXT to send (e.g. 'ls\r': \r is Enter)");
                cmd.EnsureNoUnknown(maxPositionals: 4);
                var p = new TerminalInputParams { Id = id, Data = Unescape(text) };
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                await client.InvokeAsync<object?>(Methods.TerminalInput, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(p);
                }

                return 0;
            }

            case "read":
            {
                bool json = cmd.Flag("json");
                var id = cmd.RequirePositional(2, IdHint);
                var p = new TerminalReadParams { Id = id, Tail = ParseTail(cmd.Option("tail")), Screen = cmd.Flag("screen") };
                cmd.EnsureNoUnknown(maxPositionals: 3);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var result = await client.InvokeAsync<TerminalReadResult>(Methods.TerminalRead, p).ConfigureAwait(false);
                if (json)
                {
                    output.Json(result);
                }
                else if (result.Text.Length > 0)
                {
                    output.Line(result.Text.EndsWith('\n') ? result.Text[..^1] : result.Text);
                }

                return 0;
            }

            case "kill" or "rm":
            {
                bool json = cmd.Flag("json");
                var id = cmd.RequirePositional(2, IdHint);
                cmd.EnsureNoUnknown(maxPositionals: 3);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var t = await client.InvokeAsync<TerminalInfo>(Methods.TerminalKill, new TerminalRef { Id = id }).ConfigureAwait(false);
                if (json)
                {
                    output.Json(t);
                }
                else
                {
                    output.Line($"Killed terminal '{t.Id}' ({t.Name}).");
                }

                return 0;
            }

            case "attach":
            {
                var id = cmd.RequirePositional(2, IdHint);
                cmd.EnsureNoUnknown(maxPositionals: 3);
                return await AttachSession.RunAsync(id, output, paths).ConfigureAwait(false);
            }

            default:
                throw new CliException($"Unknown terminal command '{verb}'. Use {Verbs}.");
        }
    }

    /// <summary>
    /// TEXT of <c>terminal send</c> as typed: <c>\r</c> (Enter), <c>\n</c>, <c>\t</c>, <c>\e</c> (Esc), <c>\xHH</c>
    /// (the character U+00HH, e.g. <c>\x03</c> for Ctrl-C) and <c>\\</c> become those characters; any other
    /// backslash is a usage error, so a typo never sends something else.
    /// </summary>
    internal static string Unescape(string text)
    {
        if (!text.Contains('\\', StringComparison.Ordinal))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }

            if (i + 1 >= text.Length)
            {
                throw new CliException(@"TEXT ends with a lone backslash; write \\ for a backslash.");
            }

            char e = text[++i];
            switch (e)
            {
                case 'r': sb.Append('\r'); break;
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'e': sb.Append('\u001b'); break;
                case '\\': sb.Append('\\'); break;
                case 'x':
                    if (i + 2 >= text.Length
                        || !byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
                    {
                        throw new CliException(@"\x in TEXT needs two hex digits, e.g. \x03 for Ctrl-C.");
                    }

                    sb.Append((char)value);
                    i += 2;
                    break;
                default:
                    throw new CliException($@"Unknown escape \{e} in TEXT; the escapes are \r \n \t \e \xHH and \\ (a backslash).");
            }
        }

        return sb.ToString();
    }

    internal static string Status(TerminalInfo t) => t.Status switch
    {
        TerminalStatus.Running => "running",
        TerminalStatus.Exited when t.ExitCode is { } code => $"exited {code}",
        TerminalStatus.Exited when t.Signal is { } signal => $"exited signal {signal}",
        TerminalStatus.Exited => "exited",
        TerminalStatus.Killed => "killed",
        TerminalStatus.Lost => "lost",
        _ => t.Status.ToString().ToLowerInvariant(),
    };

    /// <summary>The command as one line a shell would read back: arguments with spaces or quotes single-quoted.</summary>
    internal static string CommandLineText(IReadOnlyList<string> command) =>
        string.Join(' ', command.Select(a =>
            a.Length > 0 && a.All(ch => char.IsAsciiLetterOrDigit(ch) || "-_./=:,+@%".Contains(ch, StringComparison.Ordinal))
                ? a
                : "'" + a.Replace("'", @"'\''", StringComparison.Ordinal) + "'"));

    private static TerminalPurpose? ParsePurpose(string? value) => value switch
    {
        null => null,
        "shell" => TerminalPurpose.Shell,
        "build" => TerminalPurpose.Build,
        "test" => TerminalPurpose.Test,
        "repl" => TerminalPurpose.Repl,
        "agent" => TerminalPurpose.Agent,
        _ => throw new CliException($"Unknown --purpose '{value}'. Use shell, build, test, repl or agent."),
    };

    internal static int? ParseTail(string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
        {
            throw new CliException($"--tail needs a number of lines (1 or more), not '{value}'.");
        }

        return n;
    }

    private static string ExpandHome(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
            ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path[1..]
            : path;
}
