using System.Security.Cryptography;
using System.Text;
using Orchflow.Protocol;
using static Orchflow.Server.EnumText;

namespace Orchflow.Server.Workspaces;

/// <summary>
/// Compares a workspace's security policy in force with the one its config file asks for. A file can be written by the
/// workspace's own processes wherever the sandbox does not keep <c>.orchflow/</c> read-only (and by anything the user
/// runs), so only changes that make the policy stricter apply at once; each weakening waits for a person. Pure.
/// </summary>
public static class PolicyChange
{
    /// <summary>The policy of a workspace without a config file: what the defaults give.</summary>
    public static SecurityPolicy Defaults { get; } = new()
    {
        Tier = SecurityTier.Standard,
        AllowedCommands = [],
        RestrictedPaths = [],
        Network = NetworkPolicy.Full,
        AllowedHosts = [],
    };

    /// <summary>
    /// Each way <paramref name="requested"/> is weaker than <paramref name="held"/>, one line each: a lower tier,
    /// allowed_commands widened (a command added, or the list removed), a restricted path removed, the network widened
    /// (none → allowlist → full, or hosts added to an allow-list), and first, when the config file was removed and that
    /// weakens anything, the removal itself. Empty when the request only strengthens or keeps the policy.
    /// </summary>
    public static IReadOnlyList<string> Weakenings(SecurityPolicy held, SecurityPolicy requested, bool fileRemoved = false)
    {
        var lines = new List<string>();
        if (requested.Tier < held.Tier)
        {
            lines.Add($"lowers its tier {Lower(held.Tier)} → {Lower(requested.Tier)}");
        }

        if (held.AllowedCommands.Count > 0)
        {
            if (requested.AllowedCommands.Count == 0)
            {
                lines.Add($"removes the allowed_commands list (any command could run, not only {string.Join(", ", held.AllowedCommands)})");
            }
            else if (Added(held.AllowedCommands, requested.AllowedCommands) is { Count: > 0 } added)
            {
                lines.Add($"adds {string.Join(", ", added)} to allowed_commands");
            }
        }

        if (Added(requested.RestrictedPaths, held.RestrictedPaths) is { Count: > 0 } unhidden)
        {
            lines.Add($"unhides {string.Join(", ", unhidden)} (removed from restricted_paths)");
        }

        if (Openness(requested.Network) > Openness(held.Network))
        {
            lines.Add($"widens network {Lower(held.Network)} → {Lower(requested.Network)}");
        }
        else if (held.Network == NetworkPolicy.Allowlist && requested.Network == NetworkPolicy.Allowlist
            && Added(held.AllowedHosts, requested.AllowedHosts) is { Count: > 0 } hosts)
        {
            lines.Add($"adds {string.Join(", ", hosts)} to allowed_hosts");
        }

        if (fileRemoved && lines.Count > 0)
        {
            lines.Insert(0, "removes .orchflow/workspace.json, and with it the policy it set");
        }

        return lines;
    }

    /// <summary>
    /// What holds while a weaker request waits: the stricter of the two on every point, so that whatever the request
    /// strengthens applies at once and nothing it weakens does. Equals <paramref name="requested"/> when it weakens
    /// nothing. Two allowed_commands lists that share nothing keep the held one: an empty list would mean "any command".
    /// </summary>
    public static SecurityPolicy Strictest(SecurityPolicy held, SecurityPolicy requested)
    {
        IReadOnlyList<string> commands = held.AllowedCommands.Count == 0 ? requested.AllowedCommands
            : requested.AllowedCommands.Count == 0 ? held.AllowedCommands
            : requested.AllowedCommands.Where(held.AllowedCommands.Contains).ToList() is { Count: > 0 } both ? both
            : held.AllowedCommands;
        var (network, hosts) = Openness(requested.Network) < Openness(held.Network) ? (requested.Network, requested.AllowedHosts)
            : Openness(requested.Network) > Openness(held.Network) ? (held.Network, held.AllowedHosts)
            : (requested.Network, requested.Network == NetworkPolicy.Allowlist ? requested.AllowedHosts.Where(held.AllowedHosts.Contains).ToList() : requested.AllowedHosts);
        return requested with
        {
            Tier = requested.Tier > held.Tier ? requested.Tier : held.Tier,
            AllowedCommands = commands,
            RestrictedPaths = [.. requested.RestrictedPaths, .. Added(requested.RestrictedPaths, held.RestrictedPaths)],
            Network = network,
            AllowedHosts = hosts,
        };
    }

    /// <summary>True when the two policies are the same in every field (lists in the same order).</summary>
    public static bool Same(SecurityPolicy a, SecurityPolicy b) => Describe(a) == Describe(b);

    /// <summary>Names one request: a short hash of every field, and of whether the file was removed.</summary>
    public static string Fingerprint(SecurityPolicy requested, bool fileRemoved) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes((fileRemoved ? "removed\n" : "") + Describe(requested))))[..16];

    /// <summary>Every field of a policy in one line, for the audit log and comparisons.</summary>
    public static string Describe(SecurityPolicy p) =>
        $"tier {Lower(p.Tier)}, network {Lower(p.Network)}"
        + (p.Network == NetworkPolicy.Allowlist || p.AllowedHosts.Count > 0 ? $" [{string.Join(", ", p.AllowedHosts)}]" : "")
        + $", allowed_commands [{string.Join(", ", p.AllowedCommands)}], restricted_paths [{string.Join(", ", p.RestrictedPaths)}]"
        + (p.SecretsFile is { } secrets ? $", secrets_file {secrets}" : "");

    /// <summary>How much of the network a policy opens: none, then an allow-list, then everything.</summary>
    private static int Openness(NetworkPolicy network) => network switch
    {
        NetworkPolicy.None => 0,
        NetworkPolicy.Allowlist => 1,
        _ => 2,
    };

    /// <summary>The entries of <paramref name="after"/> that <paramref name="before"/> does not have, in order.</summary>
    private static List<string> Added(IReadOnlyList<string> before, IReadOnlyList<string> after) =>
        after.Where(x => !before.Contains(x, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
}
