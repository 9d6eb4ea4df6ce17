using System.Text;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Cli;

/// <summary><c>orchflow secret set|list|rm</c>: a value is read from standard input, never from the command line (which other users see in ps).</summary>
internal static class SecretCommands
{
    public static async Task<int> RunAsync(CommandLine cmd, Output output, OrchflowPaths paths, string workingDirectory, Func<string, string?> readValue)
    {
        var verb = cmd.Positional(1) ?? throw new CliException("Missing secret command: set, list or rm.");
        bool json = cmd.Flag("json");
        // The workspace is the one named, else the one this call is in (CurrentWorkspace), found once connected; every
        // message names it, so a secret never lands somewhere unnoticed.
        var named = cmd.Option("workspace");
        switch (verb)
        {
            case "set":
            {
                var name = cmd.RequirePositional(2, "secret NAME (an environment variable name, e.g. GITHUB_TOKEN)");
                cmd.EnsureNoUnknown(maxPositionals: 3);
                var value = readValue(name) ?? throw new CliException("No value on standard input. Pipe it in: printf %s \"$VALUE\" | orchflow secret set --workspace ID NAME");
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var workspace = await CurrentWorkspace.IdAsync(named, client, paths, workingDirectory).ConfigureAwait(false);
                var info = await client.InvokeAsync<SecretInfo>(Methods.SecretSet, new SecretSetParams { WorkspaceId = workspace, Name = name, Value = value }).ConfigureAwait(false);
                if (json)
                {
                    output.Json(info);
                }
                else
                {
                    output.Line($"Set secret {info.Name} of workspace '{workspace}' ({info.Masked}). Processes started from now on get it.");
                }

                return 0;
            }

            case "list" or "ls":
            {
                cmd.EnsureNoUnknown(maxPositionals: 2);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var implicitly = named is null ? await CurrentWorkspace.ImplicitAsync(client, paths, workingDirectory).ConfigureAwait(false) : null;
                var workspace = named ?? implicitly!.Reference;
                var list = await client.InvokeAsync<SecretListResult>(Methods.SecretList, new SecretListParams { WorkspaceId = workspace }).ConfigureAwait(false);
                if (json)
                {
                    output.Json(list);
                    return 0;
                }

                if (implicitly is not null)
                {
                    output.Line($"Secrets of workspace '{workspace}' ({implicitly.Because}):");
                }

                output.Table(
                    ["NAME", "SOURCE", "VALUE", "UPDATED"],
                    list.Secrets.Select(s => (IReadOnlyList<string>)
                    [
                        s.Name,
                        s.Source == SecretSource.File ? $"file{(s.Overridden ? " (overridden)" : "")}" : "daemon",
                        s.Masked,
                        s.UpdatedAt?.ToLocalTime().ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) ?? "-",
                    ]));
                foreach (var d in list.Problems)
                {
                    output.Line($"  {d.File}:{d.Line}:{d.Column}: {d.Severity.ToString().ToLowerInvariant()}: {d.Message}");
                }

                return 0;
            }

            case "rm" or "remove":
            {
                var name = cmd.RequirePositional(2, "secret NAME");
                cmd.EnsureNoUnknown(maxPositionals: 3);
                await using var client = await DaemonClient.ConnectAsync(paths, autoStart: true).ConfigureAwait(false);
                var workspace = await CurrentWorkspace.IdAsync(named, client, paths, workingDirectory).ConfigureAwait(false);
                var removed = await client.InvokeAsync<SecretRemoveResult>(Methods.SecretRemove, new SecretRemoveParams { WorkspaceId = workspace, Name = name }).ConfigureAwait(false);
                if (json)
                {
                    output.Json(removed);
                }
                else
                {
                    output.Line($"Removed secret {removed.Name} of workspace '{removed.WorkspaceId}'.");
                }

                return 0;
            }

            default:
                throw new CliException($"Unknown secret command '{verb}'. Use set, list or rm.");
        }
    }

    /// <summary>
    /// The value: typed without echo when standard input is a terminal, else all of standard input with one trailing
    /// newline removed (so that <c>echo "$V" |</c> and <c>printf %s "$V" |</c> give the same value). Null when empty.
    /// </summary>
    public static string? ReadValue(string name, TextWriter prompt)
    {
        if (RawMode.IsTerminal(0))
        {
            prompt.Write($"Value of {name} (not shown): ");
            var typed = new StringBuilder();
            using (RawMode.Enter())
            {
                var buffer = new byte[1];
                while (RawMode.Read(0, buffer) == 1 && buffer[0] is not ((byte)'\r' or (byte)'\n'))
                {
                    if (buffer[0] == 3)
                    {
                        throw new CliException("Cancelled.", 1);
                    }

                    if (buffer[0] is 127 or 8)
                    {
                        if (typed.Length > 0)
                        {
                            typed.Length--;
                        }

                        continue;
                    }

                    typed.Append((char)buffer[0]);
                }
            }

            prompt.WriteLine();
            var bytes = Encoding.Latin1.GetBytes(typed.ToString());
            var text = Encoding.UTF8.GetString(bytes);
            return text.Length == 0 ? null : text;
        }

        using var stdin = Console.OpenStandardInput();
        using var reader = new StreamReader(stdin, new UTF8Encoding(false));
        var value = reader.ReadToEnd();
        if (value.EndsWith("\r\n", StringComparison.Ordinal))
        {
            value = value[..^2];
        }
        else if (value.EndsWith('\n'))
        {
            value = value[..^1];
        }

        return value.Length == 0 ? null : value;
    }
}
