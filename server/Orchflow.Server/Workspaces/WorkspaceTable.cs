using Orchflow.Protocol;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// The registered workspaces by id, and the rules that keep them apart: how a reference (id, name or root) finds one,
/// and which roots, ids and namespaces a new one may take. Not locked itself: <see cref="WorkspaceService"/> calls it
/// under its lock, so a check and the registration it allows happen as one step.
/// </summary>
internal sealed class WorkspaceTable
{
    private readonly Dictionary<string, Workspace> _byId = new(StringComparer.Ordinal);

    public IEnumerable<Workspace> All => _byId.Values;

    public int Count => _byId.Count;

    public bool Contains(string id) => _byId.ContainsKey(id);

    public void Add(Workspace ws) => _byId[ws.Id] = ws;

    public void Remove(string id) => _byId.Remove(id);

    /// <summary>The workspace an id, a name (when only one has it) or a root path names.</summary>
    public Workspace Find(string reference)
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

    /// <summary>The workspace that uses <paramref name="ns"/>, other than <paramref name="except"/>.</summary>
    public Workspace? NamespaceOwner(string ns, Workspace? except = null) =>
        _byId.Values.FirstOrDefault(w => w.Namespace == ns && w != except);

    /// <summary>Refuses a root that is registered already, or inside or around another workspace's.</summary>
    public void CheckNewRoot(string root)
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

    /// <summary>The requested id when it is a free slug; else a free one made from the name.</summary>
    public string ChooseId(string? requested, string name)
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

    /// <summary>The requested namespace (or the id), which must be a slug no other workspace uses.</summary>
    public (string Namespace, bool Explicit) ChooseNamespace(string? requested, string id)
    {
        var ns = requested ?? id;
        if (!PathRules.IsSlug(ns))
        {
            throw new OrchflowException(ErrorCodes.InvalidArgument, $"'{ns}' is not a valid namespace.", "Use lowercase letters, digits and '-', at most 63 characters.");
        }

        if (NamespaceOwner(ns) is { } owner)
        {
            throw new OrchflowException(ErrorCodes.Duplicate,
                $"The namespace '{ns}' is already used by workspace '{owner.Id}'; namespaces isolate terminals, agents and memory, so each must be unique.",
                requested is null ? "Pass another with --namespace." : "Choose another namespace prefix.");
        }

        return (ns, requested is not null);
    }
}
