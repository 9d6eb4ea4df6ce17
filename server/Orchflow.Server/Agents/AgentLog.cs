using System.Text;
using System.Threading.Channels;
using Orchflow.Server.Terminals;

namespace Orchflow.Server.Agents;

/// <summary>
/// An agent's full output on disk, at <c>&lt;data&gt;/agents/&lt;workspace&gt;/&lt;agent-id&gt;.log</c>, escape sequences kept.
/// Size-capped: once the file passes <see cref="MaxBytes"/> it becomes <c>.log.1</c> (replacing the previous one) and a
/// new file starts, so an agent keeps between <see cref="MaxBytes"/> and twice that of its newest output.
/// <see cref="Append"/> only queues (it runs under the terminal's lock); one writer task per run writes and flushes
/// whenever the queue runs dry, so a crash loses at most what was printed in the last moments.
/// </summary>
public sealed class AgentLog
{
    /// <summary>10 MiB: hours of an agent's conversation, small enough that a dozen agents cost little disk.</summary>
    public const long MaxBytes = 10L * 1024 * 1024;

    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly string _path;
    private readonly long _maxBytes;
    private readonly Task _writer;

    public AgentLog(string path, string header, long maxBytes = MaxBytes)
    {
        _path = path;
        _maxBytes = maxBytes;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _queue.Writer.TryWrite(header);
        _writer = Task.Run(WriteLoopAsync);
    }

    public static string PathFor(string dataDirectory, string workspaceId, string agentId) =>
        Path.Combine(dataDirectory, "agents", workspaceId, agentId + ".log");

    public static string RotatedPath(string path) => path + ".1";

    /// <summary>Queues output for the file. Never blocks.</summary>
    public void Append(string text) => _queue.Writer.TryWrite(text);

    /// <summary>No more output: the writer drains the queue, flushes and closes the file.</summary>
    public Task CompleteAsync()
    {
        _queue.Writer.TryComplete();
        return _writer;
    }

    /// <summary>Both files as plain text, oldest first; only the last <paramref name="tail"/> lines when given.</summary>
    public static string ReadPlain(string path, int? tail)
    {
        var text = new StringBuilder();
        foreach (var file in new[] { RotatedPath(path), path })
        {
            try
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream, new UTF8Encoding(false));
                text.Append(reader.ReadToEnd());
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
            }
        }

        return PlainText.From(text.ToString(), tail);
    }

    public static void Delete(string path)
    {
        File.Delete(path);
        File.Delete(RotatedPath(path));
    }

    private async Task WriteLoopAsync()
    {
        var encoding = new UTF8Encoding(false);
        FileStream? stream = null;
        try
        {
            stream = Open();
            var reader = _queue.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var text))
                {
                    var bytes = encoding.GetBytes(text);
                    await stream.WriteAsync(bytes).ConfigureAwait(false);
                    if (stream.Length > _maxBytes)
                    {
                        await stream.DisposeAsync().ConfigureAwait(false);
                        File.Move(_path, RotatedPath(_path), overwrite: true);
                        stream = Open();
                    }
                }

                await stream.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full or read-only disk must not take the agent down: its output still reaches its terminal and clients.
            _queue.Writer.TryComplete();
        }
        finally
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private FileStream Open() =>
        new(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 64 * 1024);
}
