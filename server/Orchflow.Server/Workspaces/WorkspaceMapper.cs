using Orchflow.Config;
using Orchflow.Protocol;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// Turns a workspace's stored record and config in force into the wire's <see cref="WorkspaceInfo"/>.
/// Effective values are resolved here, in one place: the workspace file's value, else the global config's default;
/// except the security policy, which is the one in force (<see cref="Workspace.Policy"/>): a weaker one the file asks
/// for is shown as <see cref="WorkspaceInfo.PendingPolicy"/> until a person confirms it.
/// </summary>
public static class WorkspaceMapper
{
    /// <param name="isolation">What this machine enforces for a policy (the security capability's report); without it, no sandbox is assumed.</param>
    public static WorkspaceInfo ToInfo(Workspace ws, GlobalConfig global, Func<SecurityPolicy, ResourceLimits, WorkspaceIsolation>? isolation = null)
    {
        var r = ws.Record;
        var c = ws.Config;
        var limits = EffectiveLimits(c, global);
        var security = ws.Policy;
        var tier = security.Tier;
        return new WorkspaceInfo
        {
            Id = r.Id,
            Name = r.Name,
            RootPath = r.RootPath,
            RepoUrl = r.RepoUrl,
            Namespace = r.Namespace,
            IsDefault = r.IsDefault,
            CreatedAt = Utc(r.CreatedAt),
            LastAccessed = Utc(r.LastAccessed),
            Metadata = new WorkspaceMetadata
            {
                ProjectType = Enum.TryParse<ProjectType>(r.ProjectType, ignoreCase: true, out var pt) ? pt : ProjectType.Unknown,
                Vcs = r.VcsKind is null ? null : new VcsInfo { Kind = r.VcsKind, Branch = r.VcsBranch, Head = r.VcsHead, RemoteUrl = r.VcsRemoteUrl, Dirty = r.VcsDirty },
                ActiveAgents = [],
                MemoryNamespace = r.Namespace,
                ResourceLimits = limits,
                SecurityTier = tier,
            },
            Security = security,
            Isolation = isolation?.Invoke(security, limits) ?? Orchflow.Server.Security.IsolationPlanner.Report(security, null),
            Models = new ModelSettings
            {
                Models = c?.Models.Models ?? [],
                MemorySizeBytes = c?.Models.MemorySizeBytes ?? global.Orchestration.Models.MemoryPerWorkspaceBytes,
                TrainingEnabled = c?.Models.TrainingEnabled ?? false,
            },
            SharedEnv = c?.SharedEnv ?? new Dictionary<string, string>(),
            Config = new WorkspaceConfigState
            {
                Path = ws.ConfigStamp.Exists || c is not null ? ws.ConfigPath : null,
                Diagnostics = ws.ConfigDiagnostics,
                LoadedAt = ws.ConfigLoadedAt,
            },
            PendingPolicy = ws.Pending is { } pending ? ToWire(pending, security) : null,
            RootProblem = ws.RootProblem,
        };
    }

    /// <summary>The security policy a config file asks for; the defaults' without a file.</summary>
    public static SecurityPolicy RequestedPolicy(WorkspaceFileConfig? c) => c is null ? PolicyChange.Defaults : new SecurityPolicy
    {
        Tier = c.Security.Tier,
        AllowedCommands = c.Security.AllowedCommands,
        RestrictedPaths = c.Security.RestrictedPaths,
        Network = c.Security.Network,
        AllowedHosts = c.Security.AllowedHosts,
        SecretsFile = c.Security.SecretsFile,
    };

    internal static PendingPolicy ToWire(PolicyRequest pending, SecurityPolicy held) => new()
    {
        Requested = pending.Requested,
        Changes = PolicyChange.Weakenings(held, pending.Requested, pending.FileRemoved),
        SeenAt = pending.SeenAt,
        Fingerprint = pending.Fingerprint,
        RejectedAt = pending.RejectedAt,
        RejectedBy = pending.RejectedBy,
    };

    public static ResourceLimits EffectiveLimits(WorkspaceFileConfig? c, GlobalConfig global) => new()
    {
        MaxAgents = c?.Resources.MaxAgents ?? global.Orchestration.DefaultAgentLimit,
        MemoryLimitBytes = c?.Resources.MemoryLimitBytes,
        CpuShares = c?.Resources.CpuShares ?? Defaults.CpuShares,
        TerminalLimit = c?.Resources.TerminalLimit ?? global.Orchestration.Resources.TerminalLimitPerWorkspace,
        ProcessLimit = c?.Resources.ProcessLimit ?? global.Orchestration.Resources.ProcessLimitPerWorkspace,
    };

    /// <summary>
    /// Converts a config enum to the wire enum of the same name. By name, not by number: the two enums live in
    /// projects that know nothing of each other, and a reordering in one must not silently change a security tier.
    /// </summary>
    internal static TTo SameName<TTo>(Enum value)
        where TTo : struct, Enum => Enum.Parse<TTo>(value.ToString());

    private static DateTimeOffset Utc(DateTime t) => new(DateTime.SpecifyKind(t, DateTimeKind.Utc));
}
