using Orchflow.Config;
using Orchflow.Protocol;
using Orchflow.Server.Configuration;
using Orchflow.Server.Hosting;
using Orchflow.Server.Security;
using Orchflow.Server.Storage;
using ProtocolDiagnostic = Orchflow.Protocol.Diagnostic;

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
    private readonly AuditLog _audit;
    private readonly Log _log;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, Workspace> _byId = new(StringComparer.Ordinal);

    /// <summary>Audit entries made under the lock, handed to the audit log outside it.</summary>
    private readonly List<WorkspaceAuditNote> _notes = [];

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
        _audit = audit;
        _log = log;
        _time = time;
        foreach (var record in store.All())
        {
            var ws = new Workspace(record);
            LoadStoredConfig(ws);

            // Databases from before the policy was stored had the last good config in force: that is the baseline.
            ws.Policy = record.Policy?.ToPolicy() ?? WorkspaceMapper.RequestedPolicy(ws.Config);
            _byId[record.Id] = ws;
        }

        if (!_byId.ContainsKey(DefaultId))
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
            _byId[DefaultId] = created;
        }

        foreach (var ws in _byId.Values)
        {
            RefreshConfigLocked(ws, force: true);
            _store.Update(ws.Record);
        }

        FlushAudit();
    }

    /// <summary>Raised after every change, outside the lock, with the workspace's state after it.</summary>
    public event Action<WorkspaceChangedNotification>? Changed;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byId.Count;
            }
        }
    }

    public IReadOnlyList<WorkspaceInfo> List()
    {
        lock (_gate)
        {
            return _byId.Values
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
            return ToInfoLocked(FindLocked(reference));
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
            var ws = _byId.Values.Where(w => !w.IsDefault && w.Contains(canonical)).MaxBy(w => w.RootPath.Length);
            return ws is null ? null : ToInfoLocked(ws);
        }
    }

    public async Task<WorkspaceInfo> CreateAsync(WorkspaceCreateParams p, CancellationToken cancellationToken = default)
    {
        var root = PathRules.CanonicalDirectory(p.Path);
        var configPath = Path.Combine(root, WorkspaceConfigLoader.RelativePath);
        WorkspaceFileConfig? config = null;
        IReadOnlyList<ProtocolDiagnostic> diagnostics = [];
        string? configText = null;
        if (File.Exists(configPath))
        {
            var result = WorkspaceConfigLoader.Load(configPath);
            diagnostics = result.Diagnostics.Select(DiagnosticMapper.ToProtocol).ToList();
            if (!result.Ok)
            {
                throw new OrchflowException(ErrorCodes.InvalidConfig,
                    $"{configPath} is invalid: {FirstError(diagnostics)}",
                    "Fix the file (every problem is listed with its line and column), then create the workspace again.",
                    diagnostics);
            }

            config = result.Value;
            configText = await File.ReadAllTextAsync(configPath, cancellationToken).ConfigureAwait(false);
        }

        // Detection reads the disk and may run git: do it before taking the lock.
        var projectType = config?.ProjectType is { } declared && declared != ProjectKind.Unknown ? WorkspaceMapper.SameName<ProjectType>(declared) : ProjectDetector.Detect(root);
        var vcs = await GitInspector.InspectAsync(root, cancellationToken).ConfigureAwait(false);

        Workspace ws;
        lock (_gate)
        {
            CheckRootLocked(root);
            var maxWorkspaces = _settings.Current.Orchestration.MaxWorkspaces;
            int registered = _byId.Values.Count(w => !w.IsDefault);
            if (registered >= maxWorkspaces)
            {
                throw new OrchflowException(ErrorCodes.LimitReached,
                    $"Orchflow allows at most {maxWorkspaces} workspaces (max_workspaces) and {registered} are registered.",
                    $"Delete one with `orchflow workspace rm ID`, or raise max_workspaces in {_settings.Path}.");
            }

            var name = FirstNonEmpty(p.Name, config?.Name, Path.GetFileName(root), root);
            var id = ChooseIdLocked(p.Id ?? config?.Id, name);
            var (ns, nsExplicit) = ChooseNamespaceLocked(p.Namespace ?? config?.Namespace.Prefix, id);
            var now = _time.GetUtcNow().UtcDateTime;
            var record = new WorkspaceRecord
            {
                Id = id,
                Name = name,
                RootPath = root,
                RepoUrl = vcs?.RemoteUrl,
                Namespace = ns,
                NamespaceExplicit = nsExplicit,
                ProjectType = ToWire(projectType),
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
                ConfigDiagnostics = diagnostics,
                ConfigStamp = FileStamp.Of(configPath),

                // Registering is a person's act: the file's policy is the one they registered, whatever it says.
                Policy = WorkspaceMapper.RequestedPolicy(config),
                Identity = RootIdentity.Of(root, out var missing) ?? throw new OrchflowException(ErrorCodes.InvalidPath, $"{missing}.", "Pass the project's folder."),
            };
            _store.Insert(record);
            _byId[id] = ws;
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
            found = FindLocked(p.Id);
            root = found.RootPath;
            rootChanged = p.Redetect && RefreshConfigLocked(found, force: false);
        }

        if (rootChanged)
        {
            Publish(WorkspaceChangeKind.Updated, found);
        }

        FlushAudit();
        if (p.Redetect && found.RootProblem is { } problem)
        {
            // Detection reads the folder and runs git in it: never in a folder that is not this workspace's.
            throw new OrchflowException(ErrorCodes.NotAllowed, $"Workspace '{found.Id}' was not redetected: {problem.Message}.", RootHint(found));
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
            ws = FindLocked(p.Id);
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
                    ws.Record.ProjectType = ToWire(detected!.Value);
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
            var ws = FindLocked(reference);
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
            ws = FindLocked(reference);
            if (ws.IsDefault)
            {
                throw new OrchflowException(ErrorCodes.NotAllowed, "The built-in default workspace cannot be deleted.",
                    "It receives whatever is created without naming a workspace.");
            }

            _store.Delete(ws.Id);
            _byId.Remove(ws.Id);
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
            ws = FindLocked(reference);
            RefreshConfigLocked(ws, force: true);
        }

        FlushAudit();
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
            ws = FindLocked(reference);
            changed = RefreshConfigLocked(ws, force: false);
        }

        if (changed)
        {
            Publish(WorkspaceChangeKind.Updated, ws);
        }

        FlushAudit();
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
            ws = FindLocked(reference);
            RefreshConfigLocked(ws, force: false); // an edit the poller has not seen yet is what is pending now
            if (ws.RootProblem is { } problem)
            {
                throw new OrchflowException(ErrorCodes.NotAllowed, $"Workspace '{ws.Id}' has no policy to confirm while its {problem.Message}.", RootHint(ws));
            }

            if (ws.Pending is not { } pending)
            {
                throw new OrchflowException(ErrorCodes.NotFound, $"Workspace '{ws.Id}' has no pending policy change: its config file asks for nothing weaker than the policy in force.",
                    "A change that lowers the tier, widens allowed_commands or the network, or unhides a path is listed by `orchflow workspace show` while it waits.");
            }

            var changes = PolicyChange.Weakenings(ws.Policy, pending.Requested, pending.FileRemoved);
            if (pending.Fingerprint != fingerprint)
            {
                throw new OrchflowException(ErrorCodes.InvalidArgument,
                    $"The pending policy change of workspace '{ws.Id}' is not the one you were shown (the file changed since); now it {string.Join("; ", changes)}.",
                    $"Review it again (`orchflow workspace confirm-policy {ws.Id}` shows it) and answer that one.");
            }

            var now = _time.GetUtcNow();
            if (reject)
            {
                ws.Pending = pending with { RejectedAt = now, RejectedBy = by };
                Note(ws, AuditKind.PolicyChanged, $"{by} kept the current policy ({PolicyChange.Describe(ws.Policy)}) instead of the config file's, which {string.Join("; ", changes)}. The file stays as it is.", ConfirmationRule, by);
                _log.Info($"Workspace {ws.Id}: pending policy change rejected by {by}");
            }
            else
            {
                var before = ws.Policy;
                ws.Policy = pending.Requested;
                ws.Pending = null;
                Note(ws, AuditKind.PolicyChanged, $"{by} confirmed the config file's weaker policy, which {string.Join("; ", changes)}: {PolicyChange.Describe(before)} → {PolicyChange.Describe(ws.Policy)}.", ConfirmationRule, by);
                _log.Info($"Workspace {ws.Id}: pending policy change confirmed by {by}");
            }

            _store.Update(ws.Record);
        }

        FlushAudit();
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
            ws = FindLocked(reference);
            var found = RootIdentity.Of(ws.RootPath, out var missing)
                ?? throw new OrchflowException(ErrorCodes.NotAllowed, $"There is no folder to adopt: {missing}.", $"Put the workspace's folder back at {ws.RootPath}, or delete the workspace with `orchflow workspace rm {ws.Id}`.");
            if (ws.Identity is { } registered && registered.Differs(found) is null)
            {
                throw new OrchflowException(ErrorCodes.InvalidArgument, $"The folder at {ws.RootPath} is the one registered for workspace '{ws.Id}' ({registered}); there is nothing to accept.",
                    "--accept-root is for a root that was replaced by another folder.");
            }

            var before = ws.Identity;
            ws.Identity = found;
            ws.RootProblem = null;
            Note(ws, AuditKind.PolicyChanged,
                $"{by} adopted the folder at {ws.RootPath} ({found}) as this workspace's root, instead of {before?.ToString() ?? "the unrecorded one"}. Its config file is read now; anything in it that weakens the policy waits for confirmation.",
                RootRule, by);
            _log.Info($"Workspace {ws.Id}: root {ws.RootPath} adopted by {by} ({found})");
            RefreshConfigLocked(ws, force: true);
            _store.Update(ws.Record);
        }

        FlushAudit();
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
            foreach (var ws in _byId.Values)
            {
                if (RefreshConfigLocked(ws, force: false))
                {
                    changed.Add(ws);
                }
            }
        }

        FlushAudit();
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
            ws = FindLocked(reference);
        }

        return Publish(WorkspaceChangeKind.Updated, ws);
    }

    /// <summary>Runs <paramref name="action"/> with one workspace's runtime state under the registry lock.</summary>
    public T WithWorkspace<T>(string reference, Func<Workspace, T> action)
    {
        lock (_gate)
        {
            return action(FindLocked(reference));
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

    private Workspace FindLocked(string reference)
    {
        if (string.IsNullOrWhiteSpace(reference))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, "No workspace named.", "Pass a workspace id; `orchflow workspace list` shows them.");
        }

        if (_byId.TryGetValue(reference, out var byId))
        {
            return byId;
        }

        var byName = _byId.Values.Where(w => string.Equals(w.Record.Name, reference, StringComparison.OrdinalIgnoreCase)).ToList();
        if (byName.Count == 1)
        {
            return byName[0];
        }

        if (byName.Count > 1)
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"'{reference}' names {byName.Count} workspaces: {string.Join(", ", byName.Select(w => w.Id))}.", "Use the id instead.");
        }

        if (Path.IsPathRooted(reference))
        {
            var canonical = Native.TryRealPath(reference)?.TrimEnd('/') ?? Path.GetFullPath(reference).TrimEnd('/');
            var byRoot = _byId.Values.FirstOrDefault(w => w.RootPath == canonical);
            if (byRoot is not null)
            {
                return byRoot;
            }
        }

        throw OrchflowException.NotFound("workspace", reference, "Run `orchflow workspace list` to see the ids.");
    }

    private void CheckRootLocked(string root)
    {
        foreach (var other in _byId.Values)
        {
            if (other.RootPath == root)
            {
                throw new OrchflowException(ErrorCodes.AlreadyRegistered,
                    other.IsDefault
                        ? $"{root} is the root of the built-in default workspace."
                        : $"{root} is already registered as workspace '{other.Id}'.",
                    $"Use it with `orchflow workspace switch {other.Id}`.");
            }

            if (other.IsDefault)
            {
                continue; // The default workspace spans the home directory; it never blocks a project.
            }

            if (PathRules.IsSameOrInside(root, other.RootPath))
            {
                throw new OrchflowException(ErrorCodes.Overlap,
                    $"{root} is inside workspace '{other.Id}' ({other.RootPath}); workspace boundaries must not overlap.",
                    $"Use workspace '{other.Id}', or delete it first with `orchflow workspace rm {other.Id}`.");
            }

            if (PathRules.IsSameOrInside(other.RootPath, root))
            {
                throw new OrchflowException(ErrorCodes.Overlap,
                    $"{root} contains workspace '{other.Id}' ({other.RootPath}); workspace boundaries must not overlap.",
                    $"Register a folder that does not contain another workspace, or delete '{other.Id}' first.");
            }
        }
    }

    private string ChooseIdLocked(string? requested, string name)
    {
        if (requested is not null)
        {
            if (!PathRules.IsSlug(requested))
            {
                throw new OrchflowException(ErrorCodes.InvalidArgument, $"'{requested}' is not a valid workspace id.", "Use lowercase letters, digits and '-', at most 63 characters, e.g. \"shop-api\".");
            }

            if (_byId.TryGetValue(requested, out var taken))
            {
                throw new OrchflowException(ErrorCodes.Duplicate, $"The id '{requested}' is already used by the workspace at {taken.RootPath}.", "Choose another id (workspace.id in the config file, or --id).");
            }

            return requested;
        }

        var baseId = PathRules.Slug(name);
        var id = baseId;
        for (int n = 2; _byId.ContainsKey(id); n++)
        {
            id = $"{baseId}-{n}";
        }

        return id;
    }

    private (string Namespace, bool Explicit) ChooseNamespaceLocked(string? requested, string id)
    {
        var ns = requested ?? id;
        if (!PathRules.IsSlug(ns))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"'{ns}' is not a valid namespace.", "Use lowercase letters, digits and '-', at most 63 characters.");
        }

        var owner = _byId.Values.FirstOrDefault(w => w.Namespace == ns);
        if (owner is not null)
        {
            throw new OrchflowException(ErrorCodes.Duplicate,
                $"The namespace '{ns}' is already used by workspace '{owner.Id}'; namespaces isolate terminals, agents and memory, so each must be unique.",
                requested is null ? "Pass another with --namespace." : "Choose another namespace prefix.");
        }

        return (ns, requested is not null);
    }

    /// <summary>Applies the stored last good config at start, before the file on disk is looked at.</summary>
    private static void LoadStoredConfig(Workspace ws)
    {
        if (ws.Record.LastGoodConfigText is { } text)
        {
            var stored = WorkspaceConfigLoader.Parse(text, ws.ConfigPath);
            if (stored.Ok)
            {
                ws.Config = stored.Value;
                ws.ConfigLoadedAt = ws.Record.LastGoodConfigAt is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null;
            }
        }
    }

    /// <summary>
    /// Looks at the root, then reads the workspace's config file if it changed (or always, when forced), unless the
    /// root is not the registered folder. Returns true when anything visible changed.
    /// </summary>
    private bool RefreshConfigLocked(Workspace ws, bool force)
    {
        bool rootChanged = CheckRootLocked(ws);
        if (ws.RootProblem is not null)
        {
            return rootChanged; // another folder's config is never applied; the last policy holds
        }

        var path = ws.ConfigPath;
        var stamp = FileStamp.Of(path);
        if (!force && !rootChanged && stamp == ws.ConfigStamp)
        {
            return false;
        }

        ws.ConfigStamp = stamp;
        if (!stamp.Exists)
        {
            bool had = ws.Config is not null || ws.ConfigDiagnostics.Count > 0;
            ws.Config = null;
            ws.ConfigDiagnostics = [];
            ws.Record.LastGoodConfigText = null;
            ws.Record.LastGoodConfigAt = null;
            bool policyChanged = ApplyRequestedLocked(ws, PolicyChange.Defaults, fileRemoved: true);
            if (had || policyChanged)
            {
                _store.Update(ws.Record);
            }

            return had || policyChanged || rootChanged;
        }

        // Load enforces the size limit and UTF-8; the text is kept so the last good config survives restarts.
        var result = WorkspaceConfigLoader.Load(path);
        string? text = null;
        if (result.Ok)
        {
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                result = new ConfigResult<WorkspaceFileConfig>(null, [new ConfigDiagnostic(path, 1, 1, $"cannot read the file: {ex.Message}", Orchflow.Config.DiagnosticSeverity.Error)]);
            }
        }

        var diagnostics = result.Diagnostics.Select(DiagnosticMapper.ToProtocol).ToList();
        if (result.Ok)
        {
            var config = result.Value!;
            if (config.Id is { } fileId && fileId != ws.Id)
            {
                diagnostics.Add(new ProtocolDiagnostic
                {
                    File = path, Line = 1, Column = 1, Severity = Protocol.DiagnosticSeverity.Warning,
                    Message = $"workspace.id '{fileId}' differs from the registered id '{ws.Id}'; ids are fixed when a workspace is created: delete and re-create it to change the id.",
                });
            }

            if (config.Name is { } name && name != ws.Config?.Name)
            {
                ws.Record.Name = name;
            }

            if (config.Namespace.Prefix is { } prefix && prefix != ws.Namespace)
            {
                var owner = _byId.Values.FirstOrDefault(w => w.Namespace == prefix && w != ws);
                if (owner is null)
                {
                    ws.Record.Namespace = prefix;
                    ws.Record.NamespaceExplicit = true;
                }
                else
                {
                    diagnostics.Add(new ProtocolDiagnostic
                    {
                        File = path, Line = 1, Column = 1, Severity = Protocol.DiagnosticSeverity.Error,
                        Message = $"namespace.prefix '{prefix}' is already used by workspace '{owner.Id}'; keeping '{ws.Namespace}'.",
                    });
                }
            }

            ws.Config = config;
            ws.ConfigLoadedAt = _time.GetUtcNow();
            ws.Record.LastGoodConfigText = text!;
            ws.Record.LastGoodConfigAt = ws.ConfigLoadedAt.Value.UtcDateTime;
            ApplyRequestedLocked(ws, WorkspaceMapper.RequestedPolicy(config), fileRemoved: false);
            _store.Update(ws.Record);
        }
        else
        {
            _log.Warn($"{path} is invalid; workspace {ws.Id} keeps its last good config: {FirstError(diagnostics)}");
        }

        ws.ConfigDiagnostics = diagnostics;
        return true;
    }

    /// <summary>
    /// Puts the policy a config file asks for in force, as far as it is not weaker than the one in force: whatever it
    /// strengthens applies at once, and what it weakens waits as <see cref="Workspace.Pending"/> for a person. Returns
    /// true when the policy in force or the pending request changed.
    /// </summary>
    private bool ApplyRequestedLocked(Workspace ws, SecurityPolicy requested, bool fileRemoved)
    {
        var held = ws.Policy;
        var weakenings = PolicyChange.Weakenings(held, requested, fileRemoved);
        if (weakenings.Count == 0)
        {
            bool changed = !PolicyChange.Same(held, requested) || ws.Pending is not null;
            if (ws.Pending is not null)
            {
                Note(ws, AuditKind.PolicyChanged, "The config file no longer asks for a weaker policy; the pending change is withdrawn.", ConfirmationRule);
            }

            ws.Policy = requested;
            ws.Pending = null;
            return changed;
        }

        var request = new PolicyRequest(requested, fileRemoved, _time.GetUtcNow());
        if (ws.Pending is { } same && same.Fingerprint == request.Fingerprint)
        {
            request = same; // the same request read again: it keeps when it was seen and whether it was rejected
        }
        else
        {
            Note(ws, AuditKind.PolicyChanged,
                $"{(fileRemoved ? "The config file was removed" : "The config file asks for a weaker policy")}: it {string.Join("; ", weakenings)}. The current policy ({PolicyChange.Describe(held)}) holds until a person confirms with `orchflow workspace confirm-policy {ws.Id}` or in VS Code.",
                ConfirmationRule);
            _log.Warn($"Workspace {ws.Id}: {ws.ConfigPath} asks for a weaker policy ({string.Join("; ", weakenings)}); held until a person confirms it");
        }

        var policy = PolicyChange.Strictest(held, requested);
        bool visible = !PolicyChange.Same(held, policy) || ws.Pending != request;
        ws.Policy = policy;
        ws.Pending = request;
        return visible;
    }

    /// <summary>
    /// Compares the folder at the root path with the one registered, and records the state: a problem (replaced or
    /// missing), audited when it begins and when it ends. A workspace without a recorded identity (a database from
    /// before roots were identified) gets the folder there now, with an audit note. Returns true when the state changed.
    /// </summary>
    private bool CheckRootLocked(Workspace ws)
    {
        var found = RootIdentity.Of(ws.RootPath, out var missing);
        if (ws.Identity is null && found is not null)
        {
            ws.Identity = found;
            _store.Update(ws.Record);
            Note(ws, AuditKind.PolicyChanged,
                $"Recorded which folder the root {ws.RootPath} is ({found}); it was registered before Orchflow identified roots. From now on another folder put at this path is not this workspace.",
                RootRule);
        }

        string? why = found is null ? missing : ws.Identity!.Differs(found);
        if (why is null)
        {
            if (ws.RootProblem is null)
            {
                return false;
            }

            Note(ws, AuditKind.PolicyChanged, $"The registered folder is back at {ws.RootPath} ({found}); its config is read again and launches are allowed.", RootRule);
            _log.Info($"Workspace {ws.Id}: the registered root is back at {ws.RootPath}");
            ws.RootProblem = null;
            return true;
        }

        var kind = found is null ? RootProblemKind.Missing : RootProblemKind.Replaced;
        if (ws.RootProblem is { } known && known.Kind == kind && known.Found == found?.ToString())
        {
            return false;
        }

        var message = kind == RootProblemKind.Replaced
            ? $"root replaced: the folder at {ws.RootPath} is not the one registered ({why}); run `orchflow workspace update {ws.Id} --accept-root` to adopt it, as a person"
            : $"root missing: {why}; put the workspace's folder back, or delete the workspace with `orchflow workspace rm {ws.Id}`";
        ws.RootProblem = new WorkspaceRootProblem
        {
            Kind = kind,
            Message = message,
            Registered = ws.Identity?.ToString() ?? "not recorded",
            Found = found?.ToString(),
            SeenAt = _time.GetUtcNow(),
        };
        Note(ws, AuditKind.PolicyChanged,
            $"The {message}. Its config is not read, the policy in force ({PolicyChange.Describe(ws.Policy)}) stays, and nothing is launched there" + (found is null ? "." : $" (registered: {ws.RootProblem.Registered}; found: {found})."),
            RootRule);
        _log.Warn($"Workspace {ws.Id}: {message}");
        return true;
    }

    /// <summary>The audit rule of held, confirmed and rejected policy changes.</summary>
    public const string ConfirmationRule = "security.confirmation";

    /// <summary>The audit rule of a root's identity: recorded, replaced, missing, back or adopted.</summary>
    public const string RootRule = "root";

    private static string RootHint(Workspace ws) => ws.RootProblem?.Kind == RootProblemKind.Replaced
        ? $"If the new folder is meant to be this workspace, a person adopts it with `orchflow workspace update {ws.Id} --accept-root` (or Adopt Folder in VS Code); otherwise put the registered folder back at {ws.RootPath}."
        : $"Put the workspace's folder back at {ws.RootPath}, or delete the workspace with `orchflow workspace rm {ws.Id}`.";

    private void Note(Workspace ws, AuditKind kind, string message, string rule, string? subject = null) =>
        _notes.Add(new WorkspaceAuditNote(ws.Id, kind, message, rule, subject));

    /// <summary>Hands the audit entries made so far to the audit log, outside the lock.</summary>
    private void FlushAudit()
    {
        List<WorkspaceAuditNote> notes;
        lock (_gate)
        {
            if (_notes.Count == 0)
            {
                return;
            }

            notes = [.. _notes];
            _notes.Clear();
        }

        foreach (var note in notes)
        {
            _audit.Add(note.WorkspaceId, note.Kind, note.Message, note.Rule, note.Subject);
        }
    }

    private void WriteTemplate(Workspace ws)
    {
        var path = ws.ConfigPath;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, WorkspaceConfigLoader.WorkspaceConfigTemplate(ws.Id, ws.Record.Name, ws.Record.ProjectType));
        lock (_gate)
        {
            RefreshConfigLocked(ws, force: true);
        }

        FlushAudit();
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

    private static string FirstError(IReadOnlyList<ProtocolDiagnostic> diagnostics)
    {
        var d = diagnostics.FirstOrDefault(d => d.Severity == Protocol.DiagnosticSeverity.Error) ?? diagnostics.FirstOrDefault();
        return d is null ? "unknown problem" : $"{d.Line}:{d.Column}: {d.Message}";
    }

    private static string FirstNonEmpty(params string?[] values) => values.First(v => !string.IsNullOrWhiteSpace(v))!.Trim();

    internal static string ToWire(ProjectType type) => type.ToString().ToLowerInvariant();
}

/// <summary>An entry for a workspace's audit log, made by the registry under its lock and written outside it.</summary>
public sealed record WorkspaceAuditNote(string WorkspaceId, AuditKind Kind, string Message, string? Rule = null, string? Subject = null);
