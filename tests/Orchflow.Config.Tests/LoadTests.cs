using System.Text;

namespace Orchflow.Config.Tests;

/// <summary>Reading files from disk: every failure is a diagnostic at 1:1 of the file, never an exception.</summary>
[Trait("Tier", "unit")]
public sealed class LoadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("orchflow-config-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void LoadsAWorkspaceFile()
    {
        var path = Write("workspace.json", SpecExamples.WorkspaceJson);
        var result = WorkspaceConfigLoader.Load(path);
        Assert.True(result.Ok);
        Assert.Equal("proj-ecommerce", result.Value!.Id);
    }

    [Fact]
    public void DiagnosticsCarryTheLoadedPath()
    {
        var path = Write("workspace.json", """{"workspace": {"id": "X"}}""");
        Assert.Equal(path, Assert.Single(WorkspaceConfigLoader.Load(path).Diagnostics).File);
    }

    [Fact]
    public void MissingWorkspaceFileIsAnError()
    {
        var path = Path.Combine(_dir, "nope", "workspace.json");
        var d = Assert.Single(WorkspaceConfigLoader.Load(path).Diagnostics);
        Assert.Equal($"{path}:1:1: error: file not found", d.ToString());
    }

    [Fact]
    public void MissingGlobalFileMeansDefaults()
    {
        var result = GlobalConfigLoader.Load(Path.Combine(_dir, "orchflow.toml"));
        Assert.Empty(result.Diagnostics);
        Assert.Same(GlobalConfig.Default, result.Value);
    }

    [Fact]
    public void LoadsAGlobalFile()
    {
        var result = GlobalConfigLoader.Load(Write("orchflow.toml", SpecExamples.GlobalToml));
        Assert.True(result.Ok);
        Assert.Equal(5, result.Value!.Orchestration.MaxWorkspaces);
    }

    [Fact]
    public void FilesOverOneMebibyteAreRejected()
    {
        var path = Write("workspace.json", "{\"workspace\": {}}" + new string(' ', 1024 * 1024));
        AssertOneError(WorkspaceConfigLoader.Load(path).Diagnostics, "file is larger than 1 MiB");
        AssertOneError(GlobalConfigLoader.Load(path).Diagnostics, "file is larger than 1 MiB");
    }

    [Fact]
    public void AFileOfExactlyOneMebibyteIsRead()
    {
        var content = "{\"workspace\": {}}";
        var path = Write("workspace.json", content + new string(' ', 1024 * 1024 - content.Length));
        Assert.True(WorkspaceConfigLoader.Load(path).Ok);
    }

    [Fact]
    public void ADirectoryIsNotAFile()
    {
        AssertOneError(WorkspaceConfigLoader.Load(_dir).Diagnostics, "is a directory");
        AssertOneError(GlobalConfigLoader.Load(_dir).Diagnostics, "is a directory");
    }

    [Fact]
    public void InvalidUtf8IsReported()
    {
        var path = Path.Combine(_dir, "orchflow.toml");
        File.WriteAllBytes(path, [.. "a = \""u8, 0xFF, 0xFE, .. "\"\n"u8]);
        AssertOneError(GlobalConfigLoader.Load(path).Diagnostics, "not valid UTF-8");
    }

    [Fact]
    public void ByteOrderMarkIsSkipped()
    {
        var path = Path.Combine(_dir, "orchflow.toml");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("[terminals]\ndefault_shell = 1\n")]);
        var d = Assert.Single(GlobalConfigLoader.Load(path).Diagnostics);
        Assert.Equal((2, 17), (d.Line, d.Column)); // the BOM does not shift columns
    }

    /// <summary>As root too: the loads run with an unprivileged file-system identity, which a readable file beside shows works.</summary>
    [UnprivilegedFact]
    public void UnreadableFileIsReported()
    {
        File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var readable = Write("readable.json", "{\"workspace\": {}}");
        var path = Write("workspace.json", "{}");
        File.SetUnixFileMode(path, UnixFileMode.None);
        var (control, unreadable) = UnprivilegedFileAccess.Run(() => (WorkspaceConfigLoader.Load(readable), WorkspaceConfigLoader.Load(path)));
        Assert.True(control.Ok, $"the readable file did not load either, so the directory is not reachable: {string.Join("; ", control.Diagnostics)}");
        AssertOneError(unreadable.Diagnostics, "cannot read file");
    }

    [Fact]
    public void A_root_that_is_not_the_files_folder_is_an_error_at_its_value()
    {
        var project = Directory.CreateDirectory(Path.Combine(_dir, "shop")).FullName;
        var other = Directory.CreateDirectory(Path.Combine(_dir, "elsewhere")).FullName;
        var path = WriteIn(project, $$"""
            {
              "workspace": {
                "root": "{{other}}"
              }
            }
            """);

        var result = WorkspaceConfigLoader.Load(path);

        Assert.False(result.Ok);
        var d = Assert.Single(result.Diagnostics);
        Assert.Equal((DiagnosticSeverity.Error, 3, 13, path), (d.Severity, d.Line, d.Column, d.File));
        Assert.Contains($"is not the folder this file belongs to ({project})", d.Message, StringComparison.Ordinal);
        Assert.Contains("Remove 'root'", d.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_root_that_names_the_files_folder_another_way_is_accepted()
    {
        var project = Directory.CreateDirectory(Path.Combine(_dir, "shop")).FullName;
        var link = Path.Combine(_dir, "shop-link");
        Directory.CreateSymbolicLink(link, project);
        foreach (var root in new[] { project, project + "/", link })
        {
            var result = WorkspaceConfigLoader.Load(WriteIn(project, $$$"""{"workspace": {"root": "{{{root}}}"}}"""));
            Assert.True(result.Diagnostics.Count == 0, $"root {root}: {string.Join("; ", result.Diagnostics)}");
            Assert.Equal(root, result.Value!.Root);
        }
    }

    private static string WriteIn(string project, string content)
    {
        var path = Path.Combine(project, WorkspaceConfigLoader.RelativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static void AssertOneError(IReadOnlyList<ConfigDiagnostic> diagnostics, string fragment)
    {
        var d = Assert.Single(diagnostics);
        Assert.Equal((1, 1, DiagnosticSeverity.Error), (d.Line, d.Column, d.Severity));
        Assert.Contains(fragment, d.Message, StringComparison.Ordinal);
    }
}
