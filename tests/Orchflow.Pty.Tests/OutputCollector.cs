using System.Text;

namespace Orchflow.Pty.Tests;

/// <summary>
/// A sink that keeps all output as text and lets a test await a marker in it.
/// </summary>
internal sealed class OutputCollector : IPtyOutputSink
{
    private readonly Lock _lock = new();
    private readonly StringBuilder _text = new();
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _byteCount;

    public Task Ended => _ended.Task;

    public long ByteCount => Interlocked.Read(ref _byteCount);

    public string Text
    {
        get
        {
            lock (_lock)
            {
                return _text.ToString();
            }
        }
    }

    public void OnData(ReadOnlySpan<byte> data)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            var chars = new char[_decoder.GetCharCount(data, flush: false)];
            _decoder.GetChars(data, chars, flush: false);
            _text.Append(chars);
            Interlocked.Add(ref _byteCount, data.Length);
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    public void OnEnd()
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        _ended.TrySetResult();
        changed.TrySetResult();
    }

    /// <summary>
    /// Waits until <paramref name="marker"/> appears at or after character <paramref name="from"/>;
    /// returns the index just past it, to search the next output from there.
    /// </summary>
    public async Task<int> WaitForOutput(string marker, TimeSpan? timeout = null, int from = 0)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Timeouts.Default);
        while (true)
        {
            Task changed;
            string text;
            lock (_lock)
            {
                text = _text.ToString();
                changed = _changed.Task;
            }

            var index = text.IndexOf(marker, Math.Min(from, text.Length), StringComparison.Ordinal);
            if (index >= 0)
            {
                return index + marker.Length;
            }

            if (Ended.IsCompleted)
            {
                throw new TimeoutException($"Output ended without '{marker}'. Output:\n{Printable(text)}");
            }

            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException($"'{marker}' did not appear in time. Output:\n{Printable(text)}");
            }

            try
            {
                await changed.WaitAsync(remaining);
            }
            catch (TimeoutException)
            {
                // Checked once more at the top of the loop, then reported with the output.
            }
        }
    }

    /// <summary>Output lines without the CR the terminal adds, empty ones dropped.</summary>
    public IReadOnlyList<string> Lines() =>
        Text.Split('\n').Select(line => line.TrimEnd('\r')).Where(line => line.Length > 0).ToList();

    public static string Printable(string text) =>
        string.Concat(text.Select(c => char.IsControl(c) && c is not '\n' ? $"\\x{(int)c:x2}" : c.ToString()));
}
