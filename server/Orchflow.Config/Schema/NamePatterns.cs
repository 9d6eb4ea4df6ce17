namespace Orchflow.Config;

/// <summary>
/// Name rules that reach beyond the config files: the daemon applies them to what clients send (secret names) and
/// exports them to clients (schemas/protocol.schema.json, <c>limits</c>), so that a client checks a name as the daemon
/// will. ECMAScript-compatible, like every pattern the schemas carry.
/// </summary>
public static class NamePatterns
{
    /// <summary>An agent type's name: in the configs' <c>agents.types</c>, and in a Delegate Tasks line's <c>[type]</c>.</summary>
    public const string AgentType = "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$";

    /// <summary>An environment variable's name: shared_env keys and secret names.</summary>
    public const string EnvironmentVariable = "^[A-Za-z_][A-Za-z0-9_]*$";

    /// <summary>Variables starting with this are set by Orchflow itself: no config or secret may set one.</summary>
    public const string ReservedEnvPrefix = "ORCHFLOW_";
}
