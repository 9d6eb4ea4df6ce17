namespace Orchflow.Config;

// The lowercase names users write in config files for these values live in the field tables
// (Schema/WorkspaceFields.cs, Schema/GlobalFields.cs), next to their descriptions.

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

public enum SecurityTier
{
    Standard,
    Enhanced,
    Strict,
}

public enum NetworkPolicy
{
    Full,
    None,
    Allowlist,
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
