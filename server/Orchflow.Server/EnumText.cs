namespace Orchflow.Server;

/// <summary>Enum values as people read them in messages and tables: "strict", "notenforced".</summary>
internal static class EnumText
{
    public static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();
}
