using Orchflow.Config;
using Orchflow.Protocol;
using Orchflow.Server.Agents;
using Orchflow.Server.Memory;
using Orchflow.Server.Security;
using Orchflow.Server.Terminals;

namespace Orchflow.Server.Rpc;

/// <summary>
/// The daemon's rules that clients apply before they ask, exported with the protocol (schemas/protocol.schema.json,
/// generated into the extension): each limit read from the constant its service enforces, so that no client keeps a
/// copy of its own, and each agent's actions (<see cref="AgentActions"/>).
/// </summary>
public static class ClientLimits
{
    public static IReadOnlyList<ProtocolLimit> All { get; } =
    [
        new("AgentTaskMaxChars", AgentService.MaxTaskChars, "The longest task orchflow/agent/spawn accepts, in UTF-16 characters."),
        new("AgentTypeNamePattern", NamePatterns.AgentType, "An agent type's name, as the configs' agents.types name them."),
        new("MemoryTagMaxChars", MemoryRules.MaxTagChars, "The longest tag of a memory entry; tags have no commas."),
        new("MemoryTagsMax", MemoryRules.MaxTags, "The most tags an entry carries, and a search names."),
        new("SecretNamePattern", NamePatterns.EnvironmentVariable, "A secret's name: an environment variable's."),
        new("SecretReservedPrefix", NamePatterns.ReservedEnvPrefix, "Secret names that start with this are refused: Orchflow sets those variables itself."),
        new("SecretValueMaxChars", SecretStore.MaxValueChars, "The longest secret value, in UTF-16 characters."),
        new("TerminalHighWatermarkChars", Terminal.HighWatermarkChars, "A terminal stops being read while an attached client has more unacknowledged characters than this."),
        new("TerminalLowWatermarkChars", Terminal.LowWatermarkChars, "It is read again once every client is below this; a client acknowledges at least every this many characters."),
    ];

    /// <summary>schemas/protocol.schema.json: the wire types with these rules.</summary>
    public static string ExportProtocolSchema() => ProtocolSchema.ExportJson(All, AgentActions.For);
}
