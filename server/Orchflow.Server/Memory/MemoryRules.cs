using System.Text;
using System.Text.Json;
using Orchflow.Protocol;

namespace Orchflow.Server.Memory;

/// <summary>
/// What a memory entry may be: its key, value, tags, time to live and size, and the page size of a search or list.
/// Every rule throws InvalidArgument (or LimitReached) with a message that says what to change, before a segment is
/// touched; an import's lines are held to the same rules as a write.
/// </summary>
public static class MemoryRules
{
    public const int MaxKeyBytes = 512;
    public const int MaxValueBytes = 1024 * 1024;
    public const int MaxTags = 32;
    public const int MaxTagChars = 64;
    public const int MaxResults = 10_000;
    public const int DefaultResults = 100;

    /// <summary>A hundred years: longer is a mistake, and it keeps the arithmetic far from overflow.</summary>
    public const long MaxTtlSeconds = 100L * 365 * 24 * 3600;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>What an entry occupies: its key, value and tags in UTF-8 bytes.</summary>
    public static long SizeOf(string key, string value, IReadOnlyList<string> tags) =>
        Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value) + tags.Sum(t => (long)Encoding.UTF8.GetByteCount(t));

    /// <summary>A key (or, as <paramref name="what"/> says, a prefix): non-empty, valid UTF-8 of at most <see cref="MaxKeyBytes"/> bytes, printable.</summary>
    public static void ValidateKey(string? key, string what = "key")
    {
        if (string.IsNullOrEmpty(key))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The {what} is empty.", "Give a non-empty key, for example \"build/last-error\".");
        }

        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(key);
        }
        catch (EncoderFallbackException)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The {what} is not valid Unicode text (it holds a lone surrogate).", "Send the key as proper UTF-8 text.");
        }

        if (bytes > MaxKeyBytes)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The {what} is {bytes} bytes long; at most {MaxKeyBytes} bytes (UTF-8) are allowed.", "Use a shorter key and put the details in the value.");
        }

        int control = key.AsSpan().IndexOfAnyInRange('\0', '\x1f');
        if (control >= 0 || key.Contains('\x7f', StringComparison.Ordinal))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The {what} contains a control character (U+{(int)key[control >= 0 ? control : key.IndexOf('\x7f', StringComparison.Ordinal)]:X4}); keys must be printable.", "Remove control characters such as NUL, tab and newline from the key.");
        }
    }

    /// <summary>A value: present, valid UTF-8 of at most <see cref="MaxValueBytes"/> bytes, and a JSON document when its kind says so.</summary>
    public static void ValidateValue(string? value, MemoryValueKind kind)
    {
        if (value is null)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "The value is missing.", "Give a value (it may be empty text).");
        }

        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "The value is not valid Unicode text (it holds a lone surrogate).", "Send the value as proper UTF-8 text.");
        }

        if (bytes > MaxValueBytes)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"The value is {bytes} bytes long; at most {MaxValueBytes} bytes are allowed per entry.", "Store a summary, or split it over several keys.");
        }

        if (kind == MemoryValueKind.Json)
        {
            try
            {
                using var _ = JsonDocument.Parse(value);
            }
            catch (JsonException e)
            {
                throw new OrchflowException(ErrorCodes.InvalidArgument, $"The value is not valid JSON: {e.Message}", "Send a JSON document, or store it as text.");
            }
        }
    }

    /// <summary>The tags without repeats, in the order given; each 1 to <see cref="MaxTagChars"/> printable characters without commas or surrounding spaces, at most <see cref="MaxTags"/>.</summary>
    public static List<string> ValidateTags(IReadOnlyList<string>? tags)
    {
        var result = new List<string>();
        foreach (var tag in tags ?? [])
        {
            if (string.IsNullOrWhiteSpace(tag) || tag.Length > MaxTagChars || tag.Contains(',', StringComparison.Ordinal)
                || tag.AsSpan().IndexOfAnyInRange('\0', '\x1f') >= 0 || tag != tag.Trim())
            {
                throw new OrchflowException(ErrorCodes.InvalidArgument, $"The tag \"{Printable(tag)}\" is not allowed: tags are 1 to {MaxTagChars} printable characters, without commas or surrounding spaces.", "For example \"decision\" or \"api-v2\".");
            }

            if (!result.Contains(tag, StringComparer.Ordinal))
            {
                result.Add(tag);
            }
        }

        if (result.Count > MaxTags)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"An entry has at most {MaxTags} tags; {result.Count} were given.", "Keep the few tags that searches use.");
        }

        return result;
    }

    /// <summary>How many results a search or a list page holds: <see cref="DefaultResults"/> when not given, 1 to <see cref="MaxResults"/> when given.</summary>
    public static int ValidateLimit(int? limit) => limit switch
    {
        null => DefaultResults,
        >= 1 and <= MaxResults => limit.Value,
        _ => throw new OrchflowException(ErrorCodes.InvalidArgument, $"The limit must be from 1 to {MaxResults}, got {limit}.", "Page through larger results with list's after."),
    };

    /// <summary>
    /// The seconds an entry lives: the ones requested (0: never expires), or the workspace's default when none are;
    /// null for an entry that never expires.
    /// </summary>
    public static long? Ttl(long? requested, MemoryLimits limits)
    {
        if (requested is { } s)
        {
            if (s < 0 || s > MaxTtlSeconds)
            {
                throw new OrchflowException(ErrorCodes.InvalidArgument, $"The time to live must be from 0 to {MaxTtlSeconds} seconds, got {s}.", "Give seconds, or 0 for an entry that never expires.");
            }

            return s == 0 ? null : s;
        }

        return limits.DefaultTtl is { } d && d > TimeSpan.Zero ? (long)d.TotalSeconds : null;
    }

    /// <summary>An entry larger than the whole memory of its workspace is refused before anything is evicted for it.</summary>
    public static void CheckFits(long size, MemoryLimits limits, string workspaceId)
    {
        if (size > limits.CapacityBytes)
        {
            throw new OrchflowException(ErrorCodes.LimitReached,
                $"The entry takes {size} bytes, more than the whole memory of workspace '{workspaceId}' ({limits.CapacityBytes} bytes, memory_size).",
                "Store less, or raise models.memory_size in the workspace's .orchflow/workspace.json.");
        }
    }

    private static string Printable(string? s) => s is null ? "" : new string(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
