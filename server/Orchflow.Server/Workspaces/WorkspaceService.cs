using Orchflow.Config;
using Orchflow.Protocol;
using Orchflow.Server.Configuration;
using Orchflow.Server.Hosting;
using Orchflow.Server.Security;
using Orchflow.Server.Storage;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// The workspace registry: create, find, update, switch and delete workspaces, enforce the rules that keep
/// isolation boundaries apart, and keep each workspace's config in force. Persisted in LiteDB; a restart loses nothing.
/// Architecture invariant: this service hands out one workspace at a time by id; nothing here lets one workspace's
/// operation read another's state (the only cross-workspace reads are the uniqueness and overlap rules).
/// Architecture invariant: a workspace's security policy cannot be weakened from inside it. A config file that asks for
/// less is held (<see cref="Workspace.Pending"/>) until a person confirms it (<see cref="DecidePolicy"/>), and a folder
/// put in place of the registered root (another device and inode) is not read at all until a person adopts it
/// (<see cref="AcceptRoot"/>); both are audited, and both survive a restart.
/// It holds the registry's one lock and does the registering, publishing and persisting; its parts work under that lock:
/// <see cref="WorkspaceTable"/> (lookup; which roots, ids and namespaces are free), <see cref="WorkspaceConfigs"/> (the
/// config file in force), <see cref="WorkspacePolicies"/> (weaker policies held and decided), <see cref="WorkspaceRoots"/>
/// (the root's identity) and <see cref="WorkspaceAuditNotes"/> (audit entries written after the lock is let go).
/// </summary>
public sealed class WorkspaceService
{
    public const string DefaultId = "default";

    private readonly object _gate = new();
    private readonly WorkspaceStore _store;
    private readonly GlobalSettings _settings;
    private readonly IIsolationReport _isolation;
    private readonly IActiveAgents _agents;
    private readonly IWorkspaceHibernation _hibernation;
    private readonly Log _log;
    private readonly TimeProvider _time;
    private readonly WorkspaceTable _table = new();
    private readonly WorkspaceAuditNotes _notes;
    private readonly WorkspaceRoots _roots;
    private readonly WorkspacePolicies _policies;
    private readonly WorkspaceConfigs _configs;

    /// <param name="isolation">What this machine enforces for a policy, shown in each workspace's isolation report.</param>
    /// <param name="agents">Each workspace's active agents, shown in its metadata.</param>
    /// <param name="hibernation">A suspended workspace's hibernation.</param>
    /// <param name="audit">Where the registry's audit entries go: root identities recorded, roots replaced or back, weaker policies held, confirmed or rejected.</param>
    public WorkspaceService(WorkspaceStore store, GlobalSettings settings, IIsolationReport isolation, IActiveAgents agents, IWorkspaceHibernation hibernation, AuditLog audit,
        Log log, TimeProvider time, string defaultRoot)
    {
        _store = store;
        _settings = settings;
        _isolation = isolation;
        _agents = agents;
        _hibernation = hibernation;
        _log = log;
        _time = time;

        // The registry's parts share its lock and its table; they are its own, so it builds them.
        _notes = new WorkspaceAuditNotes(audit);
        _roots = new WorkspaceRoots(store, _notes, log, time);
        _policies = new WorkspacePolicies(_notes, log, time);
        _configs = new WorkspaceConfigs(_table, _roots, _policies, store, log, time);
        foreach (var record in store.All())
        {
            var ws = new Workspace(record);
            WorkspaceConfigs.LoadStored(ws);

            // Databases from before the policy was stored had the last good config in force: that is the baseline.
            ws.Policy = record.Policy?.ToPolicy() ?? WorkspaceMapper.RequestedPolicy(ws.Config);
            _table.Add(ws);
        }

        if (!_table.Contains(DefaultId))
        {
            var now = _time.GetUtcNow().UtcDateTime;
            var record = new WorkspaceRecord
            {
                Id = DefaultId,
                Name = "Default",
                RootPath = Directory.Exists(defaultRoot) ? (Native.TryRealPath(defaultRoot) ?? defaultRoot) : "/",
                Namespace = DefaultId,
                NamespaceExplicit = true,
                IsDefault = true,
                CreatedAt = now,
                LastAccessed = now,
            };
            var created = new Workspace(record) { Identity = RootIdentity.Of(record.RootPath, out _) };
            _store.Insert(record);
            _table.Add(created);
        }

        foreach (var ws in _table.All)
        {
            _configs.Refresh(ws, force: true);
            _store.Update(ws.Record);
        }

        _notes.Flush();
    }

    /// <summary>Raised after every change, outside the lock, with the workspace's state after it.</summary>
    public event Action<WorkspaceChangedNotification>? Changed;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _table.Count;
            }
        }
    }

    public IReadOnlyList<WorkspaceInfo> List()
    {
        lock (_gate)
        {
            return _table.All
                .OrderByDescending(w => w.IsDefault)
                .ThenBy(w => w.Record.Name, StringComparer.OrdinalIgnoreCase)
                .Select(ToInfoLocked)
                .ToList();
        }
    }

    public WorkspaceInfo Show(string reference)
    {
        lock (_gate)
        {
            return ToInfoLocked(_table.Find(reference));
        }
    }

    /// <summary>The workspace whose root is or contains <paramref name="path"/>; the built-in default never matches.</summary>
    public WorkspaceInfo? Resolve(string path)
    {
        string canonical;
        try
        {
            canonical = PathRules.CanonicalDirectory(path);
        }
        catch (OrchflowException) when (Path.IsPathRooted(path))
        {
            canonical = Path.GetFullPath(path).TrimEnd('/');
        }

        lock (_gate)
        {
            var ws = _table.All.Where(w => !w.IsDefault && w.Contains(canonical)).MaxBy(w => w.RootPath.Length);
            return ws is null ? null : ToInfoLocked(ws);
        }
    }

    public async Task<WorkspaceInfo> CreateAsync(WorkspaceCreateParams p, CancellationToken cancellationToken = default)
    {
        var root = PathRules.CanonicalDirectory(p.Path);
        var configPath = Path.Combine(root, WorkspaceConfigLoader.RelativePath);
        var read = await WorkspaceConfigs.ReadNewAsync(root, cancellationToken).ConfigureAwait(false);
        var config = read?.Config;
        var configText = read?.Text;

        // Detection reads the disk and may run git: do it before taking the lock.
        var projectType = config?.ProjectType is { } declared && declared != ProjectKind.Unknown ? WorkspaceMapper.SameName<ProjectType>(declared) : ProjectDetector.Detect(root);
        var vcs = await GitInspector.InspectAsync(root, cancellationToken).ConfigureAwait(false);

        Workspace ws;
        lock (_gate)
        {
            _table.CheckNewRoot(root);
            var maxWorkspaces = _settings.Current.Orchestration.MaxWorkspaces;
            int registered = _table.All.Count(w => !w.IsDefault);
            if (registered >= maxWorkspaces)
            {
                throw new OrchflowException(ErrorCodes.LimitReached,
                    $"Orchflow allows at most {maxWorkspaces} workspaces (max_workspaces) and {registered} are registered.",
                    $"Delete one with `orchflow workspace rm ID`, or raise max_workspaces in {_settings.Path}.");
            }

            var name = FirstNonEmpty(p.Name, config?.Name, Path.GetFileName(root), root);
            var id = _table.ChooseId(p.Id ?? config?.Id, name);
            var (ns, nsExplicit) = _table.ChooseNamespace(p.Namespace ?? config?.Namespace.Prefix, id);
            var now = _time.GetUtcNow().UtcDateTime;
            var record = new WorkspaceRecord
            {
                Id = id,
                Name = name,
                RootPath = root,
                RepoUrl = vcs?.RemoteUrl,
                Namespace = ns,
                NamespaceExplicit = nsExplicit,
                ProjectType = RecordName(projectType),
                IsDefault = false,
                CreatedAt = now,
                LastAccessed = now,
                LastGoodConfigText = configText,
                LastGoodConfigAt = configText is null ? null : now,
            };
            ApplyVcs(record, vcs);
            ws = new Workspace(record)
            {
                Config = config,
                ConfigLoadedAt = config is null ? null : _time.GetUtcNow(),
                ConfigDiagnostics = read?.Diagnostics ?? [],
                ConfigStamp = FileStamp.Of(configPath),

                // Registering is a person's act: the file's policy is the one they registered, whatever it says.
                Policy = WorkspaceMapper.RequestedPolicy(config),
                Identity = RootIdentity.Of(root, out var missing) ?? throw new OrchflowException(ErrorCodes.InvalidPath, $"{missing}.", "Pass the project's folder."),
            };
            _store.Insert(record);
            _table.Add(ws);
            _log.Info($"Created workspace {id} at {root}");
        }

        if (p.WriteConfig && config is null)
        {
            WriteTemplate(ws);
        }

        var created = Publish(WorkspaceChangeKind.Created, ws);
        HeapTrace.Write(_log, $"workspace {ws.Id}");
        return created;
    }

    public async Task<WorkspaceInfo> UpdateAsync(WorkspaceUpdateParams p, CancellationToken cancellationToken = default)
    {
        string root;
        Workspace found;
        bool rootChanged;
        lock (_gate)
        {
            found = _table.Find(p.Id);
            root = found.RootPath;
            rootChanged = p.Redetect && _configs.Refresh(found, force: false);
        }

        if (rootChanged)
        {
            Publish(WorkspaceChangeKind.Updated, found);
        }

        _notes.Flush();
        if (p.Redetect && found.RootProblem is { } problem)
        {
            // Detection reads the folder and runs git in it: never in a folder that is not this workspace's.
            throw new OrchflowException(ErrorCodes.NotAllowed, $"Workspace '{found.Id}' was not redetected: {problem.Message}.", WorkspaceRoots.Hint(found));
        }

        ProjectType? detected = null;
        VcsInfo? vcs = null;
        if (p.Redetect)
        {
            detected = ProjectDetector.Detect(root);
            vcs = await GitInspector.InspectAsync(root, cancellationToken).ConfigureAwait(false);
        }

        Workspace ws;
        lock (_gate)
        {
            ws = _table.Find(p.Id);
            if (p.Name is not null)
            {
                if (string.IsNullOrWhiteSpace(p.Name))
                {
                    throw new OrchflowException(ErrorCodes.InvalidArgument, "A workspace name cannot be empty.", "Pass a name such as \"Shop API\".");
                }

                ws.Record.Name = p.Name.Trim();
            }

            if (p.RepoUrl is not null)
            {
                ws.Record.RepoUrl = p.RepoUrl.Length == 0 ? null : p.RepoUrl;
            }

            if (p.Redetect)
            {
                if (ws.Config?.ProjectType is null or ProjectKind.Unknown)
                {
                    ws.Record.ProjectType = RecordName(detected!.Value);
                }

                ApplyVcs(ws.Record, vcs);
                ws.Record.RepoUrl ??= vcs?.RemoteUrl;
            }

            _store.Update(ws.Record);
        }

        return Publish(WorkspaceChangeKind.Updated, ws);
    }

    /// <summary>Marks a workspace as accessed now; the caller records it as its client's active workspace.</summary>
    public WorkspaceInfo Touch(string reference)
    {
        lock (_gate)
        {
            var ws = _table.Find(reference);
            ws.Record.LastAccessed = _time.GetUtcNow().UtcDateTime;
            _store.Update(ws.Record);
            return ToInfoLocked(ws);
        }
    }

    public string Delete(string reference)
    {
        Workspace ws;
        lock (_gate)
        {
            ws = _table.Find(reference);
            if (ws.IsDefault)
            {
                throw new OrchflowException(ErrorCodes.NotAllowed, "The built-in default workspace cannot be deleted.",
                    "It receives whatever is created without naming a workspace.");
            }

            _store.Delete(ws.Id);
            _table.Remove(ws.Id);
            _log.Info($"Deleted workspace {ws.Id} (records only; {ws.RootPath} untouched)");
        }

        Changed?.Invoke(new WorkspaceChangedNotification { Kind = WorkspaceChangeKind.Deleted, Id = ws.Id });
        return ws.Id;
    }

    /// <summary>Re-reads one workspace's config file now, whether or not it changed (never a replaced root's).</summary>
    public WorkspaceInfo ReloadConfig(string reference)
    {
        Workspace ws;
        lock (_gate)
        {
            ws = _table.Find(reference);
            _configs.Refresh(ws, force: true);
        }

        _notes.Flush();
        return Publish(WorkspaceChangeKind.Updated, ws);
    }

    /// <summary>
    /// Looks at the workspace's root now, before something is launched there: null when it is the registered folder;
    /// else its problem, which the caller refuses the launch with. A root replaced or back since the last look is
    /// published and audited here.
    /// </summary>
    public WorkspaceRootProblem? VerifyRoot(string reference)
    {
        Workspace ws;
        bool changed;
        lock (_gate)
        {
            ws = _table.Find(reference);
            changed = _configs.Refresh(ws, force: false);
        }

        if (changed)
        {
            Publish(WorkspaceChangeKind.Updated, ws);
        }

        _notes.Flush();
        return ws.RootProblem;
    }

    /// <summary>
    /// A person's answer to the workspace's pending weaker policy: apply it, or (<paramref name="reject"/>) keep the
    /// current one, which then holds until the file changes again. <paramref name="fingerprint"/> must name the change
    /// the person was shown; <paramref name="by"/> (the client) goes into the audit log. The caller has made sure that
    /// the client is a person's (<see cref="Security.PersonCheck"/>).
    /// </summary>
    public WorkspaceInfo DecidePolicy(string reference, string fingerprint, bool reject, string by)
    {
        Workspace ws;
        lock (_gate)
        {
            ws = _table.Find(reference);
            _configs.Refresh(ws, force: false); // an edit the poller has not seen yet is what is pending now
            if (ws.RootProblem is { } problem)
            {
                throw new OrchflowException(ErrorCodes.NotAllowed, $"Workspace '{ws.Id}' has no policy to confirm while its {problem.Message}.", WorkspaceRoots.Hint(ws));
            }

            _policies.Decide(ws, fingerprint, reject, by);
            _store.Update(ws.Record);
        }

        _notes.Flush();
        return Publish(WorkspaceChangeKind.Updated, ws);
    }

    /// <summary>
    /// Adopts the folder now at the workspace's root path as its root, after the registered one was replaced: a
    /// person's decision, audited with <paramref name="by"/>. Its config file is then read like an edit, so a weaker
    /// policy in it waits for <see cref="DecidePolicy"/> like any other.
    /// </summary>
    public WorkspaceInfo AcceptRoot(string reference, string by)
    {
        Workspace ws;
        lock (_gate)
        {
            ws = _table.Find(reference);
            _roots.Adopt(ws, by);
            _configs.Refresh(ws, force: true);
            _store.Update(ws.Record);
        }

        _notes.Flush();
        return Publish(WorkspaceChangeKind.Updated, ws);
    }

    /// <summary>
    /// Looks at every root and re-reads every config file whose size or time changed; publishes an update for each
    /// workspace whose state changed. Cheap: two stats per workspace.
    /// </summary>
    public int RefreshChangedConfigs()
    {
        List<Workspace> changed = [];
        lock (_gate)
        {
            foreach (var ws in _table.All)
            {
                if (_configs.Refresh(ws, force: false))
                {
                    changed.Add(ws);
                }
            }
        }

        _notes.Flush();
        foreach (var ws in changed)
        {
            Publish(WorkspaceChangeKind.Updated, ws);
        }

        return changed.Count;
    }

    /// <summary>Tells every client that a workspace's state changed outside its record (suspended, resumed).</summary>
    public WorkspaceInfo NotifyChanged(string reference)
    {
        Workspace ws;
        lock (_gate)
        {
            ws = _table.Find(reference);
        }

        return Publish(WorkspaceChangeKind.Updated, ws);
    }

    /// <summary>Runs <paramref name="action"/> with one workspace's runtime state under the registry lock.</summary>
    public T WithWorkspace<T>(string reference, Func<Workspace, T> action)
    {
        lock (_gate)
        {
            return action(_table.Find(reference));
        }
    }

    private WorkspaceInfo Publish(WorkspaceChangeKind kind, Workspace ws)
    {
        WorkspaceInfo info;
        lock (_gate)
        {
            info = ToInfoLocked(ws);
        }

        Changed?.Invoke(new WorkspaceChangedNotification { Kind = kind, Id = info.Id, Workspace = info });
        return info;
    }

    /// <summary>The audit rule of held, confirmed and rejected policy changes.</summary>
    public const string ConfirmationRule = "security.confirmation";

    /// <summary>The audit rule of a root's identity: recorded, replaced, missing, back or adopted.</summary>
    public const string RootRule = "root";



    private void WriteTemplate(Workspace ws)
    {
        var path = ws.ConfigPath;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, WorkspaceConfigLoader.WorkspaceConfigTemplate(ws.Id, ws.Record.Name, ws.Record.ProjectType));
        lock (_gate)
        {
            _configs.Refresh(ws, force: true);
        }

        _notes.Flush();
    }

    private WorkspaceInfo ToInfoLocked(Workspace ws)
    {
        var info = WorkspaceMapper.ToInfo(ws, _settings.Current, _isolation.Report);
        if (_hibernation.Of(ws.Id) is { } hibernation)
        {
            info = info with { Hibernation = hibernation };
        }

        return info with { Metadata = info.Metadata with { ActiveAgents = _agents.ActiveAgentIds(ws.Id) } };
    }

    private static void ApplyVcs(WorkspaceRecord record, VcsInfo? vcs)
    {
        record.VcsKind = vcs?.Kind;
        record.VcsBranch = vcs?.Branch;
        record.VcsHead = vcs?.Head;
        record.VcsRemoteUrl = vcs?.RemoteUrl;
        record.VcsDirty = vcs?.Dirty ?? false;
    }

    private static string FirstNonEmpty(params string?[] values) => values.First(v => !string.IsNullOrWhiteSpace(v))!.Trim();

    /// <summary>How the database record spells a project type (the config file's lowercase name).</summary>
    internal static string RecordName(ProjectType type) => type.ToString().ToLowerInvariant();
}
