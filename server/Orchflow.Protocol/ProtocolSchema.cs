using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;

namespace Orchflow.Protocol;

/// <summary>
/// Exports the wire contract as JSON Schema: one document whose <c>definitions</c> hold every protocol type,
/// nested types referenced by <c>$ref</c>, plus the method table. The TypeScript client's types are generated
/// from this file, and a test fails when the checked-in copy drifts from these C# types.
/// </summary>
public static class ProtocolSchema
{
    /// <summary>Each method with its params and result types (null for none). Notifications have no result.</summary>
    public static IReadOnlyList<MethodDescriptor> MethodTable { get; } =
    [
        new(Methods.Initialize, typeof(InitializeParams), typeof(InitializeResult)),
        new(Methods.Status, typeof(StatusParams), typeof(StatusResult)),
        new(Methods.WorkspaceList, typeof(WorkspaceListParams), typeof(WorkspaceListResult)),
        new(Methods.WorkspaceCreate, typeof(WorkspaceCreateParams), typeof(WorkspaceInfo)),
        new(Methods.WorkspaceShow, typeof(WorkspaceRef), typeof(WorkspaceInfo)),
        new(Methods.WorkspaceUpdate, typeof(WorkspaceUpdateParams), typeof(WorkspaceInfo)),
        new(Methods.WorkspaceSwitch, typeof(WorkspaceRef), typeof(WorkspaceInfo)),
        new(Methods.WorkspaceDelete, typeof(WorkspaceRef), typeof(WorkspaceDeleteResult)),
        new(Methods.WorkspaceResolve, typeof(WorkspaceResolveParams), typeof(WorkspaceResolveResult)),
        new(Methods.WorkspaceReloadConfig, typeof(WorkspaceRef), typeof(WorkspaceInfo)),
        new(Methods.WorkspaceConfirmPolicy, typeof(WorkspacePolicyDecision), typeof(WorkspaceInfo)),
        new(Methods.TerminalCreate, typeof(TerminalCreateParams), typeof(TerminalInfo)),
        new(Methods.TerminalList, typeof(TerminalListParams), typeof(TerminalListResult)),
        new(Methods.TerminalShow, typeof(TerminalRef), typeof(TerminalInfo)),
        new(Methods.TerminalInput, typeof(TerminalInputParams), null),
        new(Methods.TerminalResize, typeof(TerminalResizeParams), typeof(TerminalInfo)),
        new(Methods.TerminalRename, typeof(TerminalRenameParams), typeof(TerminalInfo)),
        new(Methods.TerminalKill, typeof(TerminalRef), typeof(TerminalInfo)),
        new(Methods.TerminalAttach, typeof(TerminalRef), typeof(TerminalAttachResult)),
        new(Methods.TerminalDetach, typeof(TerminalRef), null),
        new(Methods.TerminalAck, typeof(TerminalAckParams), null, IsNotification: true, FromClient: true),
        new(Methods.TerminalRead, typeof(TerminalReadParams), typeof(TerminalReadResult)),
        new(Methods.AgentSpawn, typeof(AgentSpawnParams), typeof(AgentInfo)),
        new(Methods.AgentList, typeof(AgentListParams), typeof(AgentListResult)),
        new(Methods.AgentShow, typeof(AgentRef), typeof(AgentInfo)),
        new(Methods.AgentSend, typeof(AgentSendParams), typeof(AgentInfo)),
        new(Methods.AgentAnswer, typeof(AgentAnswerParams), typeof(AgentInfo)),
        new(Methods.AgentPause, typeof(AgentRef), typeof(AgentInfo)),
        new(Methods.AgentResume, typeof(AgentRef), typeof(AgentInfo)),
        new(Methods.AgentStop, typeof(AgentRef), typeof(AgentInfo)),
        new(Methods.AgentRestart, typeof(AgentRef), typeof(AgentInfo)),
        new(Methods.AgentRemove, typeof(AgentRef), typeof(AgentRemoveResult)),
        new(Methods.AgentLogs, typeof(AgentLogsParams), typeof(AgentLogsResult)),
        new(Methods.AgentEvents, typeof(AgentEventsParams), typeof(AgentEventsResult)),
        new(Methods.AgentTypes, typeof(AgentTypesParams), typeof(AgentTypesResult)),
        new(Methods.MemorySet, typeof(MemorySetParams), typeof(MemorySetResult)),
        new(Methods.MemoryGet, typeof(MemoryKeyParams), typeof(MemoryGetResult)),
        new(Methods.MemoryDelete, typeof(MemoryKeyParams), typeof(MemoryDeleteResult)),
        new(Methods.MemorySearch, typeof(MemorySearchParams), typeof(MemorySearchResult)),
        new(Methods.MemoryList, typeof(MemoryListParams), typeof(MemoryListResult)),
        new(Methods.MemoryStats, typeof(MemoryStatsParams), typeof(MemoryStatsResult)),
        new(Methods.MemoryExport, typeof(MemoryExportParams), typeof(MemoryExportResult)),
        new(Methods.MemoryImport, typeof(MemoryImportParams), typeof(MemoryImportResult)),
        new(Methods.McpHello, typeof(McpHelloParams), typeof(McpIdentity)),
        new(Methods.McpReady, typeof(McpReadyParams), null),
        new(Methods.McpMemoryStore, typeof(McpMemoryStoreParams), typeof(MemorySetResult)),
        new(Methods.McpMemoryGet, typeof(McpMemoryKeyParams), typeof(MemoryGetResult)),
        new(Methods.McpMemorySearch, typeof(McpMemorySearchParams), typeof(MemorySearchResult)),
        new(Methods.McpMemoryDelete, typeof(McpMemoryKeyParams), typeof(MemoryDeleteResult)),
        new(Methods.McpWorkspace, typeof(McpWorkspaceParams), typeof(McpWorkspaceResult)),
        new(Methods.McpReportStatus, typeof(McpReportStatusParams), typeof(AgentInfo)),
        new(Methods.MemoryChanged, typeof(MemoryChangedNotification), null, IsNotification: true),
        new(Methods.WorkspaceResources, typeof(WorkspaceResourcesParams), typeof(ResourceSnapshot)),
        new(Methods.WorkspaceAudit, typeof(WorkspaceAuditParams), typeof(WorkspaceAuditResult)),
        new(Methods.WorkspaceSuspend, typeof(WorkspaceRef), typeof(WorkspaceSuspendResult)),
        new(Methods.WorkspaceResume, typeof(WorkspaceRef), typeof(WorkspaceSuspendResult)),
        new(Methods.WorkspaceNotice, typeof(WorkspaceNotice), null, IsNotification: true),
        new(Methods.WorkspaceAudited, typeof(AuditEntry), null, IsNotification: true),
        new(Methods.SecretSet, typeof(SecretSetParams), typeof(SecretInfo)),
        new(Methods.SecretList, typeof(SecretListParams), typeof(SecretListResult)),
        new(Methods.SecretRemove, typeof(SecretRemoveParams), typeof(SecretRemoveResult)),
        new(Methods.TerminalOutput, typeof(TerminalOutputNotification), null, IsNotification: true),
        new(Methods.TerminalChanged, typeof(TerminalChangedNotification), null, IsNotification: true),
        new(Methods.WorkspaceChanged, typeof(WorkspaceChangedNotification), null, IsNotification: true),
        new(Methods.ConfigChanged, typeof(ConfigChangedNotification), null, IsNotification: true),
        new(Methods.AgentChanged, typeof(AgentChangedNotification), null, IsNotification: true),
        new(Methods.AgentEvent, typeof(AgentEventNotification), null, IsNotification: true),
        new(Methods.ResourcesChanged, typeof(ResourceSnapshot), null, IsNotification: true),
    ];

    /// <summary>
    /// The whole document. <paramref name="limits"/> and <paramref name="agentActions"/> are the daemon's rules, which live
    /// with the services that enforce them: the limits clients check before they ask, and the actions an agent allows for
    /// each state, with and without a terminal and a menu (what <see cref="AgentInfo.Actions"/> carries per agent).
    /// </summary>
    public static string ExportJson(IReadOnlyList<ProtocolLimit> limits, Func<AgentState, bool, bool, IReadOnlyList<AgentAction>> agentActions)
    {
        var types = CollectTypes();
        var definitions = new JsonObject();
        foreach (var type in types.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            definitions[type.Name] = ExportType(type);
        }

        var methods = new JsonObject();
        foreach (var m in MethodTable.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            var entry = new JsonObject
            {
                ["kind"] = m.IsNotification ? "notification" : "request",
                ["direction"] = m.IsNotification && !m.FromClient ? "toClient" : "toServer",
                ["params"] = m.Params.Name,
            };
            if (m.Result is not null)
            {
                entry["result"] = m.Result.Name;
            }

            methods[m.Name] = entry;
        }

        var errorCodes = new JsonObject();
        foreach (var field in typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral))
        {
            errorCodes[field.Name] = (int)field.GetRawConstantValue()!;
        }

        var limitTable = new JsonObject();
        foreach (var limit in limits.OrderBy(l => l.Name, StringComparer.Ordinal))
        {
            limitTable[limit.Name] = new JsonObject { ["value"] = limit.Value.DeepClone(), ["description"] = limit.Description };
        }

        var actionTable = new JsonArray();
        foreach (var state in Enum.GetValues<AgentState>())
        {
            foreach (var (terminal, menu) in new[] { (true, true), (true, false), (false, true), (false, false) })
            {
                actionTable.Add(new JsonObject
                {
                    ["state"] = JsonSerializer.SerializeToNode(state, ProtocolJson.Options),
                    ["terminal"] = terminal,
                    ["menu"] = menu,
                    ["actions"] = JsonSerializer.SerializeToNode(agentActions(state, terminal, menu), ProtocolJson.Options),
                });
            }
        }

        var root = new JsonObject
        {
            ["$schema"] = "http://json-schema.org/draft-07/schema#",
            ["$id"] = "orchflow-protocol",
            ["title"] = "Orchflow JSON-RPC protocol",
            ["description"] = "Generated from server/Orchflow.Protocol by `bin/orchflow schema export`. Do not edit.",
            ["methods"] = methods,
            ["errorCodes"] = errorCodes,
            ["limits"] = limitTable,
            ["agentActions"] = actionTable,
            ["definitions"] = definitions,
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }).Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";
    }

    private static JsonNode ExportType(Type type)
    {
        var exporterOptions = new JsonSchemaExporterOptions
        {
            TreatNullObliviousAsNonNullable = true,
            TransformSchemaNode = (context, node) =>
            {
                var t = context.TypeInfo.Type;
                var underlying = Nullable.GetUnderlyingType(t) ?? t;
                bool isRoot = context.Path.IsEmpty;
                if (!isRoot && IsProtocolType(underlying))
                {
                    var reference = new JsonObject { ["$ref"] = "#/definitions/" + underlying.Name };
                    if (IsNullable(node))
                    {
                        return new JsonObject { ["anyOf"] = new JsonArray(reference, new JsonObject { ["type"] = "null" }) };
                    }

                    return reference;
                }

                if (isRoot && node is JsonObject obj && underlying.IsClass)
                {
                    obj["additionalProperties"] = false;
                }

                return node;
            },
        };
        return ProtocolJson.Options.GetJsonSchemaAsNode(type, exporterOptions);
    }

    private static bool IsNullable(JsonNode node) =>
        node is JsonObject o && o["type"] is JsonArray a && a.Any(v => v?.GetValue<string>() == "null");

    private static bool IsProtocolType(Type t) =>
        t.Namespace == typeof(ProtocolSchema).Namespace && !t.IsNested && t != typeof(MethodDescriptor) && t != typeof(ProtocolLimit) && (t.IsEnum || (t.IsClass && !t.IsAbstract && t != typeof(ProtocolSchema)));

    /// <summary>Every protocol type reachable from the method table, and every public record of this assembly.</summary>
    private static HashSet<Type> CollectTypes()
    {
        var types = new HashSet<Type>();
        foreach (var t in typeof(ProtocolSchema).Assembly.GetExportedTypes())
        {
            if (IsProtocolType(t) && !t.IsAbstract && t.GetCustomAttribute<System.Runtime.CompilerServices.CompilerGeneratedAttribute>() is null
                && (t.IsEnum || t.GetMethod("<Clone>$") is not null))
            {
                types.Add(t);
            }
        }

        return types;
    }
}

/// <summary>
/// A limit or name rule of the daemon that clients check before they ask, so that a person hears of a problem while
/// typing (the daemon checks every request again): exported under <c>limits</c>, generated into the extension's
/// <c>Limits</c>. A number, or an ECMAScript-compatible pattern.
/// </summary>
public sealed class ProtocolLimit
{
    public ProtocolLimit(string name, int value, string description)
        : this(name, JsonValue.Create(value), description)
    {
    }

    public ProtocolLimit(string name, string value, string description)
        : this(name, JsonValue.Create(value), description)
    {
    }

    private ProtocolLimit(string name, JsonNode value, string description)
    {
        Name = name;
        Value = value;
        Description = description;
    }

    /// <summary>PascalCase, as the generated TypeScript names it.</summary>
    public string Name { get; }

    public JsonNode Value { get; }

    /// <summary>One sentence: what is limited, and where the daemon enforces it.</summary>
    public string Description { get; }
}

/// <summary>One method of the wire. Requests go client to server; notifications go server to client unless <paramref name="FromClient"/>.</summary>
public sealed record MethodDescriptor(string Name, Type Params, Type? Result, bool IsNotification = false, bool FromClient = false);
