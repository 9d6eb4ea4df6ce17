namespace Orchflow.Config;

/// <summary>A 1-based line and column (in code points).</summary>
internal readonly record struct SourcePosition(int Line, int Column)
{
    public static readonly SourcePosition Start = new(1, 1);

    public override string ToString() => $"{Line}:{Column}";
}

/// <summary>
/// A config document as a tree of values that remember where they were written. Both the JSON and the TOML
/// reader produce this tree, so one validator (driven by the field tables) serves both formats and every
/// semantic error can point at the exact key or value.
/// </summary>
internal abstract record ConfigNode(SourcePosition Position);

internal sealed record ObjectNode(SourcePosition Position, IReadOnlyList<PropertyNode> Properties) : ConfigNode(Position);

internal sealed record PropertyNode(string Key, SourcePosition KeyPosition, ConfigNode Value);

internal sealed record ArrayNode(SourcePosition Position, IReadOnlyList<ConfigNode> Items) : ConfigNode(Position);

internal sealed record StringNode(SourcePosition Position, string Value) : ConfigNode(Position);

internal sealed record IntegerNode(SourcePosition Position, long Value) : ConfigNode(Position);

/// <summary>A non-integer number, or an integer too large for a long; <paramref name="Text"/> is how it was written.</summary>
internal sealed record FloatNode(SourcePosition Position, double Value, string Text) : ConfigNode(Position);

internal sealed record BoolNode(SourcePosition Position, bool Value) : ConfigNode(Position);

internal sealed record NullNode(SourcePosition Position) : ConfigNode(Position);

/// <summary>A value no field accepts, such as a TOML date; kept so the error can say what it was.</summary>
internal sealed record OtherNode(SourcePosition Position, string Kind, string Text) : ConfigNode(Position);
