using Orchflow.Protocol;
using Orchflow.Server.Limits;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Security;

/// <summary>
/// What this machine can enforce: the host as probed when the daemon starts, the sandbox backend chosen for it, and the
/// report of what a security policy and its resource limits get here (<see cref="IsolationPlanner"/>'s answer with the
/// line per limit that says which mechanism holds it). Built before the workspace registry, which shows the report in
/// every <see cref="WorkspaceInfo"/>, and shared with the isolation service, which applies the same backend.
/// </summary>
public sealed class MachineIsolation : IIsolationReport
{
    private readonly LimitMechanisms _limits;

    public MachineIsolation(HostIsolation host, LimitMechanisms limits)
    {
        Host = host;
        Backend = ChooseBackend(host);
        _limits = limits;
    }

    public HostIsolation Host { get; }

    public IIsolationBackend Backend { get; }

    /// <summary>
    /// bubblewrap where it runs; else Landlock where it runs; else an unavailable backend whose description says why
    /// neither can (every sandboxed tier then reports itself not enforced).
    /// </summary>
    public static IIsolationBackend ChooseBackend(HostIsolation host)
    {
        var bubblewrap = new BubblewrapBackend(host);
        if (bubblewrap.Available)
        {
            return bubblewrap;
        }

        var landlock = new LandlockBackend(host);
        return landlock.Available ? landlock : new Unavailable(bubblewrap, landlock);
    }

    public WorkspaceIsolation Report(SecurityPolicy policy, ResourceLimits limits)
    {
        var report = IsolationPlanner.Report(policy, Backend);
        return report with { Features = [.. report.Features, .. _limits.Features(limits, report)] };
    }

    /// <summary>No sandbox can run here: says why for both mechanisms.</summary>
    private sealed class Unavailable(BubblewrapBackend bubblewrap, LandlockBackend landlock) : IIsolationBackend
    {
        public IsolationMechanism Mechanism => IsolationMechanism.None;

        public bool Available => false;

        public string Description => $"{bubblewrap.Description}; {landlock.Description}";

        public IReadOnlyList<string> Launcher(SandboxSpec spec) => throw new InvalidOperationException(Description);

        public IsolationFeature Promise(string name, SecurityPolicy policy) => throw new InvalidOperationException(Description);
    }
}
