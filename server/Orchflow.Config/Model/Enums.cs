namespace Orchflow.Config;

// The lowercase names users write in config files for these values live in the field tables
// (Schema/WorkspaceFields.cs, Schema/GlobalFields.cs), next to their descriptions.
// SecurityTier and NetworkPolicy are the protocol's (Orchflow.Protocol): a config file asks for exactly what the wire
// reports, so there is one declaration and nothing to keep in step.

public enum ProjectKind
{
    Unknown,
    Rust,
    Node,
    Python,
    Dotnet,
    Go,
    Java,
    Mixed,
}

public enum IsolationLevel
{
    None,
    Standard,
    Strict,
}

public enum CpuAllocationStrategy
{
    Fair,
    Equal,
    None,
}

public enum WhenFull
{
    EvictLru,
    Refuse,
}

public enum Persistence
{
    Disk,
    Memory,
}
