using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Orchflow.Server.Mcp;

/// <summary>What a valid token grants: one agent's access to its own workspace.</summary>
public sealed record TokenGrant(string WorkspaceId, string AgentId, DateTimeOffset IssuedAt);

/// <summary>
/// The MCP tokens of running agents. A token is 256 random bits, minted when an agent's run starts and revoked when the
/// run ends (or the agent or its workspace is removed). Only its SHA-256 is kept, so nothing in the daemon's memory or
/// logs can be replayed; tokens are not persisted, so a daemon restart revokes every one (the runs end with it anyway).
/// </summary>
public sealed class AgentTokens
{
    public const string Prefix = "ofmcp_";

    private readonly ConcurrentDictionary<string, TokenGrant> _byHash = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _hashByAgent = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public AgentTokens(TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
    }

    /// <summary>How many tokens are valid now.</summary>
    public int Count => _byHash.Count;

    /// <summary>A new token for the agent's run; the agent's previous token, if any, is revoked.</summary>
    public string Mint(string workspaceId, string agentId)
    {
        Revoke(agentId);
        var token = Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var hash = Hash(token);
        _byHash[hash] = new TokenGrant(workspaceId, agentId, _time.GetUtcNow());
        _hashByAgent[agentId] = hash;
        return token;
    }

    /// <summary>The grant of a token, or null when it is unknown or revoked.</summary>
    public TokenGrant? Validate(string? token) =>
        string.IsNullOrEmpty(token) || token.Length > 200 ? null : _byHash.GetValueOrDefault(Hash(token));

    public void Revoke(string agentId)
    {
        if (_hashByAgent.TryRemove(agentId, out var hash))
        {
            _byHash.TryRemove(hash, out _);
        }
    }

    public void RevokeWorkspace(string workspaceId)
    {
        foreach (var (hash, grant) in _byHash.Where(g => g.Value.WorkspaceId == workspaceId).ToList())
        {
            _byHash.TryRemove(hash, out _);
            _hashByAgent.TryRemove(grant.AgentId, out _);
        }
    }

    private static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
