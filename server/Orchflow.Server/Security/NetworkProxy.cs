using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Orchflow.Protocol;
using Orchflow.Server.Hosting;

namespace Orchflow.Server.Security;

/// <summary>
/// The network allow-list of strict workspaces (<c>network: "allowlist"</c>). Their sandbox has only a loopback
/// interface; <c>orchflow-netproxy</c> relays 127.0.0.1:<see cref="SandboxPort"/> inside it to this proxy's Unix
/// socket for that workspace, bound into the sandbox as <c>/tmp/.orchflow-proxy.sock</c>. Each connection carries one
/// HTTP proxy request: <c>CONNECT host:port</c> (HTTPS and any TCP protocol) or an absolute-form request
/// (<c>GET http://host/…</c>). The host is checked against the workspace's current allowed_hosts
/// (<see cref="HostAllowList"/>); a refusal is answered 403 with the reason and written to the workspace's audit log.
/// The daemon resolves names itself (the sandbox has no DNS), and a name that resolves to a loopback or link-local
/// address is refused unless the list names that address (DNS rebinding onto the host's own services or a cloud
/// metadata endpoint). A connection stays with the one host it was allowed to reach.
/// </summary>
public sealed class NetworkProxy : IDisposable
{
    /// <summary>Where the relay listens inside a sandbox (its own network namespace: no clash with anything).</summary>
    public const int SandboxPort = 3128;

    /// <summary>The proxy socket's name in the workspace's private /tmp.</summary>
    public const string SocketName = ".orchflow-proxy.sock";

    private const int MaxHead = 16 * 1024;
    private static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

    private readonly Func<string, SecurityPolicy?> _policyOf;
    private readonly AuditLog _audit;
    private readonly Log _log;
    private readonly ConcurrentDictionary<string, (Socket Listener, string Path)> _listeners = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();

    public NetworkProxy(Func<string, SecurityPolicy?> policyOf, AuditLog audit, Log log)
    {
        _policyOf = policyOf;
        _audit = audit;
        _log = log;
    }

    /// <summary>Makes sure the workspace's proxy listens in <paramref name="directory"/> (its private /tmp); returns the socket's path.</summary>
    public string Ensure(string workspaceId, string directory)
    {
        var path = Path.Combine(directory, SocketName);
        lock (_listeners)
        {
            if (_listeners.TryGetValue(workspaceId, out var existing) && existing.Path == path && File.Exists(path))
            {
                return path;
            }

            if (existing.Listener is not null)
            {
                existing.Listener.Dispose();
            }

            // A socket file left by an earlier daemon, or replaced by the workspace's own processes (its /tmp is theirs).
            File.Delete(path);
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(64);
            _listeners[workspaceId] = (listener, path);
            _ = AcceptLoopAsync(workspaceId, listener);
            return path;
        }
    }

    public void Remove(string workspaceId)
    {
        lock (_listeners)
        {
            if (_listeners.TryRemove(workspaceId, out var entry))
            {
                entry.Listener.Dispose();
                TryDelete(entry.Path);
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var id in _listeners.Keys)
        {
            Remove(id);
        }
    }

    private async Task AcceptLoopAsync(string workspaceId, Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = ServeAsync(workspaceId, client);
        }
    }

    private async Task ServeAsync(string workspaceId, Socket client)
    {
        using var _ = client;
        using var stream = new NetworkStream(client, ownsSocket: false);
        try
        {
            var (head, rest) = await ReadHeadAsync(stream).ConfigureAwait(false);
            if (head is null)
            {
                await ReplyAsync(stream, 400, "the request's head did not end within 16 KiB or 30 s").ConfigureAwait(false);
                return;
            }

            var request = ProxyRequest.Parse(head);
            if (request is null)
            {
                await ReplyAsync(stream, 400, "Orchflow's proxy takes CONNECT host:port or an absolute http:// request").ConfigureAwait(false);
                return;
            }

            var policy = _policyOf(workspaceId);
            string? refusal = policy is not { Network: NetworkPolicy.Allowlist }
                ? "the workspace's network policy is no longer \"allowlist\"; restart the terminal to get the new one"
                : HostAllowList.Check(policy.AllowedHosts, request.Host, request.Port);
            IPAddress[] addresses = [];
            if (refusal is null)
            {
                (addresses, refusal) = await ResolveAsync(policy!.AllowedHosts, request.Host, request.Port).ConfigureAwait(false);
            }

            if (refusal is not null)
            {
                _audit.Add(workspaceId, AuditKind.Refused, $"Refused a connection to {request.Host}:{request.Port}: {refusal}.", "security.allowed_hosts", "network");
                await ReplyAsync(stream, 403, $"{request.Host}:{request.Port}: {refusal}").ConfigureAwait(false);
                return;
            }

            using var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp);
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                timeout.CancelAfter(ConnectTimeout);
                try
                {
                    await upstream.ConnectAsync(addresses, request.Port, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    await ReplyAsync(stream, 502, $"{request.Host}:{request.Port} could not be reached: {(e is OperationCanceledException ? "timed out" : e.Message)}").ConfigureAwait(false);
                    return;
                }
            }

            using var up = new NetworkStream(upstream, ownsSocket: false);
            if (request.Connect)
            {
                await stream.WriteAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray()).ConfigureAwait(false);
            }
            else
            {
                await up.WriteAsync(head).ConfigureAwait(false);
            }

            if (rest.Length > 0)
            {
                await up.WriteAsync(rest).ConfigureAwait(false);
            }

            await Task.WhenAll(PumpAsync(stream, up, upstream), PumpAsync(up, stream, client)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            _log.Info($"Network proxy of {workspaceId}: a connection ended: {e.Message}");
        }
    }

    private static async Task PumpAsync(Stream from, Stream to, Socket toSocket)
    {
        try
        {
            await from.CopyToAsync(to).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            try
            {
                toSocket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>Names are resolved here; loopback and link-local results are dropped unless the list names such an address.</summary>
    private static async Task<(IPAddress[] Addresses, string? Refusal)> ResolveAsync(IReadOnlyList<string> allowed, string host, int port)
    {
        if (IPAddress.TryParse(host, out var literal))
        {
            return ([literal], null);
        }

        if (host == "localhost")
        {
            return ([IPAddress.Loopback, IPAddress.IPv6Loopback], null); // listed by that very name
        }

        IPAddress[] found;
        try
        {
            found = await Dns.GetHostAddressesAsync(host).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            return ([], $"the name could not be resolved ({e.Message})");
        }

        var usable = found.Where(a => !IsInternal(a) || HostAllowList.ListsAddress(allowed, a, port)).ToArray();
        return usable.Length > 0
            ? (usable, null)
            : ([], $"it resolves only to loopback or link-local addresses ({string.Join(", ", found.Select(a => a.ToString()))}), which a name in allowed_hosts does not open; list the address itself to allow it");
    }

    private static bool IsInternal(IPAddress a)
    {
        if (a.IsIPv4MappedToIPv6)
        {
            a = a.MapToIPv4();
        }

        if (IPAddress.IsLoopback(a) || a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any) || a.IsIPv6LinkLocal)
        {
            return true;
        }

        var b = a.GetAddressBytes();
        return a.AddressFamily == AddressFamily.InterNetwork && b[0] == 169 && b[1] == 254;
    }

    private static async Task<(byte[]? Head, byte[] Remainder)> ReadHeadAsync(Stream stream)
    {
        var buffer = new byte[MaxHead];
        int filled = 0;
        using var timeout = new CancellationTokenSource(HeadTimeout);
        while (filled < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(filled), timeout.Token).ConfigureAwait(false);
            if (n == 0)
            {
                return (null, []);
            }

            filled += n;
            int end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                return (buffer[..(end + 4)], buffer[(end + 4)..filled]);
            }
        }

        return (null, []);
    }

    private static Task ReplyAsync(Stream stream, int status, string reason)
    {
        var text = status switch { 400 => "Bad Request", 403 => "Forbidden", _ => "Bad Gateway" };
        var body = $"orchflow: {reason}\n";
        var reply = $"HTTP/1.1 {status} {text}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
        return stream.WriteAsync(Encoding.UTF8.GetBytes(reply)).AsTask();
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>One proxy request's target.</summary>
public sealed record ProxyRequest(bool Connect, string Host, int Port)
{
    /// <summary>The request line of <c>CONNECT host:port HTTP/1.x</c> or <c>METHOD http://host[:port]/… HTTP/1.x</c>; null otherwise.</summary>
    public static ProxyRequest? Parse(ReadOnlySpan<byte> head)
    {
        int eol = head.IndexOf("\r\n"u8);
        var line = Encoding.ASCII.GetString(eol < 0 ? head : head[..eol]);
        var parts = line.Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return null;
        }

        if (parts[0] == "CONNECT")
        {
            return SplitHostPort(parts[1], defaultPort: null) is { } target ? new ProxyRequest(true, target.Host, target.Port) : null;
        }

        if (!parts[1].StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var authority = parts[1]["http://".Length..];
        int slash = authority.IndexOfAny(['/', '?', '#']);
        authority = slash < 0 ? authority : authority[..slash];
        if (authority.Contains('@', StringComparison.Ordinal))
        {
            return null; // user info: refused rather than guessed at
        }

        return SplitHostPort(authority, defaultPort: 80) is { } t ? new ProxyRequest(false, t.Host, t.Port) : null;
    }

    private static (string Host, int Port)? SplitHostPort(string authority, int? defaultPort)
    {
        string host;
        string? port = null;
        if (authority.StartsWith('['))
        {
            int close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return null;
            }

            host = authority[1..close];
            port = authority.Length > close + 1 && authority[close + 1] == ':' ? authority[(close + 2)..] : null;
        }
        else
        {
            int colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            port = colon < 0 ? null : authority[(colon + 1)..];
        }

        int p = defaultPort ?? 0;
        if (port is not null && !int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out p))
        {
            return null;
        }

        return host.Length == 0 || p is <= 0 or > 65535 ? null : (host.TrimEnd('.').ToLowerInvariant(), p);
    }
}

/// <summary>
/// allowed_hosts: host names (<c>api.github.com</c>), wildcards (<c>*.example.com</c>: any name below, not the name
/// itself) or IPv4 addresses, each optionally with <c>:port</c> (without one, every port). Names compare without case.
/// </summary>
public static class HostAllowList
{
    /// <summary>Null when <paramref name="host"/>:<paramref name="port"/> is allowed; else why not, in words.</summary>
    public static string? Check(IReadOnlyList<string> allowed, string host, int port)
    {
        foreach (var entry in allowed)
        {
            var (pattern, entryPort) = Split(entry);
            if (entryPort is { } p && p != port)
            {
                continue;
            }

            if (pattern.StartsWith("*.", StringComparison.Ordinal)
                ? host.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase) && host.Length > pattern.Length - 1
                : string.Equals(host, pattern, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }
        }

        return allowed.Count == 0
            ? "allowed_hosts is empty, so no host is reachable"
            : $"not in security.allowed_hosts ({string.Join(", ", allowed)})";
    }

    /// <summary>True when the list names this very address (for a name that resolved to a loopback or link-local one).</summary>
    public static bool ListsAddress(IReadOnlyList<string> allowed, IPAddress address, int port) =>
        allowed.Select(Split).Any(e => (e.Port is null || e.Port == port) && IPAddress.TryParse(e.Pattern, out var a) && a.Equals(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address));

    private static (string Pattern, int? Port) Split(string entry)
    {
        var e = entry.Trim().TrimEnd('.');
        int colon = e.LastIndexOf(':');
        return colon > 0 && int.TryParse(e[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port)
            ? (e[..colon].TrimEnd('.').ToLowerInvariant(), port)
            : (e.ToLowerInvariant(), null);
    }
}
