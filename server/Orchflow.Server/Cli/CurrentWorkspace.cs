using Orchflow.Protocol;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Cli;

/// <summary>Where a command that names no workspace acts, and why: the workspace, and the rule that chose it.</summary>
internal sealed record WorkspaceChoice(string Reference, string Because);

/// <summary>
/// The workspace a command acts in when it names none, for every command of the CLI: <c>--workspace</c>, else
/// <c>ORCHFLOW_WORKSPACE</c> (set in every Orchflow terminal), else the registered root that contains the current
/// directory, else the workspace last switched to from the command line (kept in a file of the data directory, so
/// it outlasts the call and the daemon), else <c>default</c>. VS Code windows keep their own, per window.
/// </summary>
internal static class CurrentWorkspace
{
    public const string Variable = "ORCHFLOW_WORKSPACE";

    /// <summary>The built-in workspace, where a command goes when no other rule applies.</summary>
    public const string Default = "default";

    /// <summary>The file that remembers the workspace last switched to from the command line.</summary>
    public static string FileOf(OrchflowPaths paths) => Path.Combine(paths.DataDirectory, "cli-workspace");

    /// <summary>The workspace a command acts in: <paramref name="named"/> (its <c>--workspace</c>), else the one it is in here.</summary>
    public static async Task<string> IdAsync(string? named, DaemonClient client, OrchflowPaths paths, string workingDirectory) =>
        named ?? (await ImplicitAsync(client, paths, workingDirectory).ConfigureAwait(false)).Reference;

    /// <summary>The workspace a command that names none acts in here (every rule after <c>--workspace</c>).</summary>
    public static async Task<WorkspaceChoice> ImplicitAsync(DaemonClient client, OrchflowPaths paths, string workingDirectory)
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } fromEnvironment)
        {
            return new(fromEnvironment, $"{Variable} is set");
        }

        var here = await client.InvokeAsync<WorkspaceResolveResult>(Methods.WorkspaceResolve, new WorkspaceResolveParams { Path = workingDirectory }).ConfigureAwait(false);
        if (here.Workspace is { } containing)
        {
            return new(containing.Id, $"the current directory is inside its root {containing.RootPath}");
        }

        if (Remembered(paths) is { } remembered)
        {
            try
            {
                var ws = await client.InvokeAsync<WorkspaceInfo>(Methods.WorkspaceShow, new WorkspaceRef { Id = remembered }).ConfigureAwait(false);
                return new(ws.Id, "it is the workspace last switched to");
            }
            catch (RemoteFailure e) when (e.Code == ErrorCodes.NotFound)
            {
                // Deleted since: the next rule applies, and the stale choice is forgotten.
                Forget(paths);
            }
        }

        return new(Default, "no other rule applies");
    }

    /// <summary>Remembers <paramref name="workspaceId"/> as the workspace later commands go to (<c>workspace switch</c>).</summary>
    public static void Remember(OrchflowPaths paths, string workspaceId)
    {
        Directory.CreateDirectory(paths.DataDirectory);
        var file = FileOf(paths);
        var temporary = $"{file}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temporary, workspaceId + "\n");
        File.Move(temporary, file, overwrite: true);
    }

    private static string? Remembered(OrchflowPaths paths)
    {
        try
        {
            return File.ReadAllText(FileOf(paths)).Trim() is { Length: > 0 } id ? id : null;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static void Forget(OrchflowPaths paths)
    {
        try
        {
            File.Delete(FileOf(paths));
        }
        catch (IOException)
        {
            // Another call forgot it first, or the folder is read-only: it is read again next time and found stale again.
        }
    }
}
