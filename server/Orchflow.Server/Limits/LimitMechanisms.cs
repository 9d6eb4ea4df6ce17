using Orchflow.Config;
using Orchflow.Protocol;
using Orchflow.Server.Configuration;
using static Orchflow.Server.EnumText;

namespace Orchflow.Server.Limits;

/// <summary>
/// Which mechanism holds each resource limit on this machine: the kernel through the workspace's control groups where
/// the driver enforces it (<see cref="ICgroupDriver.Enforced"/>: on cgroup v2 a controller can be missing while the
/// others are there), else the governor's watchdog on measured figures; and the lines of a workspace's isolation report
/// that say so. Depends on the driver and the global config only, so the isolation report can use it before any
/// service exists.
/// </summary>
public sealed class LimitMechanisms(ICgroupDriver cgroups, GlobalSettings settings)
{
    public ICgroupDriver Cgroups { get; } = cgroups;

    /// <summary>Whether the kernel holds <paramref name="limit"/> through the workspace's control group.</summary>
    public bool Kernel(CgroupLimits limit) => Cgroups.Usable && Cgroups.Enforced.HasFlag(limit);

    /// <summary>
    /// How the limits of a workspace are enforced on this machine, for its isolation report: per limit, the kernel through
    /// the control groups or the daemon's watchdog, and why. A group's limits hold for the processes that stay in it;
    /// where the rest of the report says they can move themselves out (<c>control_groups</c> not enforced: tier standard,
    /// no sandbox), each line that the groups enforce says so, and no longer promises that a fork bomb stays inside.
    /// </summary>
    public IReadOnlyList<IsolationFeature> Features(ResourceLimits limits, WorkspaceIsolation isolation)
    {
        var watchdog = $"the daemon's watchdog, once a second, on measured figures ({Why(CgroupLimits.Memory)})";
        bool memory = Kernel(CgroupLimits.Memory);
        bool pids = Kernel(CgroupLimits.Processes);
        bool cpu = Kernel(CgroupLimits.Cpu);
        bool kept = isolation.Features.FirstOrDefault(f => f.Name == "control_groups") is not { Enforced: false };
        var leave = isolation.EnforcedTier == Orchflow.Protocol.SecurityTier.Standard
            ? "at tier standard (no sandbox) a process can move itself out of its group, and what it starts then is not counted (see control_groups)"
            : "a process can move itself out of its group, and what it starts then is not counted (see control_groups)";
        string Stays(string line) => kept ? line : $"{line}, for the processes that stay in the workspace's group: {leave}";
        return
        [
            new()
            {
                Name = "memory_limit",
                Enforced = true,
                Detail = limits.MemoryLimitBytes is { } m
                    ? (memory ? Stays($"{ByteSize.Format(m)} by {Cgroups.Description}") : $"{ByteSize.Format(m)} by {watchdog}") + $"; above {ResourceGovernor.SoftLimitFraction:P0} the newest running agent is paused, at the limit {(memory ? "the kernel kills a process of the workspace" : "the terminal that grew most is stopped")}" + (memory ? "" : "; a spike faster than a second can pass the limit before it acts")
                    : "no memory_limit set",
            },
            new()
            {
                Name = "process_limit",
                Enforced = true,
                Detail = pids
                    ? kept
                        ? $"{limits.ProcessLimit} processes by {Cgroups.Description} (pids.max): a fork bomb stays inside the workspace"
                        : Stays($"{limits.ProcessLimit} processes by {Cgroups.Description} (pids.max)")
                    : $"{limits.ProcessLimit} processes by the daemon's watchdog, once a second, on measured figures ({Why(CgroupLimits.Processes)}): the terminal with the most processes is stopped; a fork bomb can exceed it between two checks",
            },
            new()
            {
                Name = "cpu",
                Enforced = cpu,
                Detail = cpu
                    ? Stays($"cpu_shares {limits.CpuShares} by {Cgroups.Description}, weighted by cpu_allocation_strategy ({Lower(settings.Current.Orchestration.Resources.CpuAllocationStrategy)})")
                    : $"NOT enforced: CPU weights need the cpu controller of the control groups ({Why(CgroupLimits.Cpu)})",
            },
        ];
    }

    /// <summary>Why the kernel does not hold <paramref name="limit"/>: the driver's reason, with the groups it does use.</summary>
    private string Why(CgroupLimits limit) =>
        Cgroups.Usable ? $"{Cgroups.NotEnforcedReason(limit) ?? "not enforced by the control groups"}; the workspace's processes are in {Cgroups.Version.ToString().ToLowerInvariant()} groups" : Cgroups.Description;
}
