using Orchflow.Protocol;
using Orchflow.Server.Workspaces;

namespace Orchflow.Server.Tests;

/// <summary>
/// Tier 1: which edits of a workspace's security policy weaken it (and so wait for a person), and what holds while
/// they wait. One table, one <see cref="Check"/>: the policy in force, the one the file asks for, the weakenings
/// expected, and the policy that holds meanwhile.
/// </summary>
[Trait("Tier", "unit")]
public sealed class PolicyChangeTests
{
    private static SecurityPolicy P(
        SecurityTier tier = SecurityTier.Strict,
        string[]? commands = null,
        string[]? hidden = null,
        NetworkPolicy network = NetworkPolicy.None,
        string[]? hosts = null) => new()
        {
            Tier = tier,
            AllowedCommands = commands ?? [],
            RestrictedPaths = hidden ?? [],
            Network = network,
            AllowedHosts = hosts ?? [],
        };

    public static TheoryData<string, SecurityPolicy, SecurityPolicy, string[], SecurityPolicy> Cases => new()
    {
        { "nothing changes", P(), P(), [], P() },
        { "tier lowered", P(), P(SecurityTier.Standard), ["lowers its tier strict → standard"], P() },
        { "tier raised", P(SecurityTier.Enhanced), P(), [], P() },
        { "command added", P(commands: ["bash"]), P(commands: ["bash", "curl"]), ["adds curl to allowed_commands"], P(commands: ["bash"]) },
        { "command removed", P(commands: ["bash", "cat"]), P(commands: ["bash"]), [], P(commands: ["bash"]) },
        { "list removed", P(commands: ["bash"]), P(), ["removes the allowed_commands list (any command could run, not only bash)"], P(commands: ["bash"]) },
        { "list added", P(), P(commands: ["bash"]), [], P(commands: ["bash"]) },
        { "one command swapped for another", P(commands: ["bash", "cat"]), P(commands: ["bash", "perl"]), ["adds perl to allowed_commands"], P(commands: ["bash"]) },
        { "no command in common", P(commands: ["cat"]), P(commands: ["perl"]), ["adds perl to allowed_commands"], P(commands: ["cat"]) },
        { "path unhidden", P(hidden: ["/s", "/t"]), P(hidden: ["/t"]), ["unhides /s (removed from restricted_paths)"], P(hidden: ["/t", "/s"]) },
        { "path hidden", P(hidden: ["/s"]), P(hidden: ["/s", "/t"]), [], P(hidden: ["/s", "/t"]) },
        { "network none → allowlist", P(), P(network: NetworkPolicy.Allowlist, hosts: ["a.example"]), ["widens network none → allowlist"], P() },
        { "network allowlist → full", P(network: NetworkPolicy.Allowlist, hosts: ["a.example"]), P(network: NetworkPolicy.Full), ["widens network allowlist → full"], P(network: NetworkPolicy.Allowlist, hosts: ["a.example"]) },
        { "network full → none", P(network: NetworkPolicy.Full), P(), [], P() },
        { "host added", P(network: NetworkPolicy.Allowlist, hosts: ["a.example"]), P(network: NetworkPolicy.Allowlist, hosts: ["a.example", "*.b.example"]), ["adds *.b.example to allowed_hosts"], P(network: NetworkPolicy.Allowlist, hosts: ["a.example"]) },
        { "host removed", P(network: NetworkPolicy.Allowlist, hosts: ["a.example", "b.example"]), P(network: NetworkPolicy.Allowlist, hosts: ["b.example"]), [], P(network: NetworkPolicy.Allowlist, hosts: ["b.example"]) },
        { "hosts of a policy without allow-list", P(), P(hosts: ["a.example"]), [], P(hosts: ["a.example"]) },
        {
            "several at once, with a strengthening among them",
            P(SecurityTier.Enhanced, commands: ["bash", "cat"], hidden: ["/s"]),
            P(SecurityTier.Standard, commands: ["bash"], hidden: [], network: NetworkPolicy.Full),
            ["lowers its tier enhanced → standard", "unhides /s (removed from restricted_paths)", "widens network none → full"],
            P(SecurityTier.Enhanced, commands: ["bash"], hidden: ["/s"])
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Check(string what, SecurityPolicy held, SecurityPolicy requested, string[] weakenings, SecurityPolicy holds)
    {
        Assert.Equal(weakenings, PolicyChange.Weakenings(held, requested));
        var strictest = PolicyChange.Strictest(held, requested);
        Assert.True(PolicyChange.Same(holds, strictest), $"{what}: expected {PolicyChange.Describe(holds)}, got {PolicyChange.Describe(strictest)}");

        // What holds meanwhile is never weaker than either policy, and is the request itself when it weakens nothing.
        // The one exception, by design: two command lists with nothing in common keep the held one, since an empty
        // list would mean "any command".
        Assert.Empty(PolicyChange.Weakenings(held, strictest));
        if (what != "no command in common")
        {
            Assert.Empty(PolicyChange.Weakenings(requested, strictest));
        }

        Assert.Equal(weakenings.Length == 0, PolicyChange.Same(strictest, requested));

        // The lines a person is shown are the same against what holds meanwhile as against what held before.
        Assert.Equal(weakenings, PolicyChange.Weakenings(strictest, requested));
    }

    [Fact]
    public void Removing_the_file_weakens_only_a_policy_stricter_than_the_defaults()
    {
        Assert.Empty(PolicyChange.Weakenings(PolicyChange.Defaults, PolicyChange.Defaults, fileRemoved: true));
        Assert.Equal(
            ["removes .orchflow/workspace.json, and with it the policy it set", "lowers its tier strict → standard", "widens network none → full"],
            PolicyChange.Weakenings(P(), PolicyChange.Defaults, fileRemoved: true));
    }

    [Fact]
    public void A_fingerprint_names_one_request()
    {
        var request = P(SecurityTier.Standard);
        Assert.Equal(PolicyChange.Fingerprint(request, false), PolicyChange.Fingerprint(P(SecurityTier.Standard), false));
        Assert.NotEqual(PolicyChange.Fingerprint(request, false), PolicyChange.Fingerprint(request, true));
        Assert.NotEqual(PolicyChange.Fingerprint(request, false), PolicyChange.Fingerprint(P(SecurityTier.Standard, commands: ["bash"]), false));
        Assert.Matches("^[0-9a-f]{16}$", PolicyChange.Fingerprint(request, false));
    }

    [Fact]
    public void A_root_is_told_apart_by_device_inode_and_birth_time()
    {
        var root = Directory.CreateTempSubdirectory("of-root-").FullName;
        try
        {
            var registered = Assert.IsType<RootIdentity>(RootIdentity.Of(root, out var problem));
            Assert.Null(problem);
            Assert.Null(registered.Differs(RootIdentity.Of(root, out _)!));

            // Moved aside and replaced: another inode.
            Directory.Move(root, root + ".aside");
            Directory.CreateDirectory(root);
            var replaced = RootIdentity.Of(root, out _)!;
            Assert.Equal("device:inode changed", registered.Differs(replaced));

            // Deleted and made again: ext4 gives the freed inode number back at once (measured here); the birth time
            // differs. It comes from the kernel's coarse clock (one tick, a few milliseconds), and a real root was made
            // long before anyone replaces it: the wait stands for that.
            Thread.Sleep(50);
            Directory.Delete(root);
            Directory.CreateDirectory(root);
            var again = RootIdentity.Of(root, out _)!;
            var why = replaced.Differs(again);
            Assert.NotNull(why);
            if (again.Inode == replaced.Inode)
            {
                Assert.StartsWith("same device:inode, but created ", why, StringComparison.Ordinal);
                Assert.EndsWith("the inode number was reused", why, StringComparison.Ordinal);
            }

            // The same, on figures: a birth time the file system does not give is not compared.
            Assert.Contains("the inode number was reused", new RootIdentity(1, 2, 100).Differs(new RootIdentity(1, 2, 200)), StringComparison.Ordinal);
            Assert.Null(new RootIdentity(1, 2, 100).Differs(new RootIdentity(1, 2, null)));
            Assert.Equal("device:inode changed", new RootIdentity(1, 2, 100).Differs(new RootIdentity(3, 2, 100)));
            Assert.Equal("device 0:1, inode 2", new RootIdentity(1, 2, null).ToString());

            // Not a directory, or nothing at all.
            Directory.Delete(root);
            Assert.Null(RootIdentity.Of(root, out problem));
            Assert.Equal($"{root} does not exist", problem);
            File.CreateSymbolicLink(root, root + ".aside");
            Assert.Null(RootIdentity.Of(root, out problem));
            Assert.Contains("is not a directory", problem, StringComparison.Ordinal);
            File.Delete(root);
        }
        finally
        {
            foreach (var dir in new[] { root, root + ".aside" })
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
        }
    }
}
