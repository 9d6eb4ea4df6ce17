/*
 * orchflow-landlock: runs a program confined by Landlock, for machines where bubblewrap cannot run.
 *
 *   orchflow-landlock [--ro PATH]... [--rw PATH]... [--dev PATH]... [--own-tty] [--net-none] [--scope]
 *                     [--no-clone3] [--no-keyring] [--ipc-namespace | --no-sysv-ipc]
 *                     [--setenv NAME VALUE]... -- PROGRAM [ARG]...
 *   orchflow-landlock --filter-only [--no-clone3] [--no-keyring] -- PROGRAM [ARG]...
 *
 * The daemon computes every rule (IsolationPlanner / LandlockBackend); this program only applies them, then becomes
 * PROGRAM (same pid, same session, same controlling terminal, so job control keeps working). Landlock is an
 * allow-list: anything no rule grants is denied. Rules apply to the whole hierarchy under a directory.
 *
 *   --ro PATH    read, list and execute under PATH
 *   --rw PATH    every file-system right under PATH
 *   --dev PATH   read, write and ioctl on one device file (/dev/null, ...)
 *   --own-tty    read, write and ioctl on the terminal on standard input (the workspace's own)
 *   --net-none   no network: a seccomp filter refuses creating any socket but Unix and netlink ones (so no TCP, UDP,
 *                SCTP, raw or packet socket on any address, loopback included) and io_uring (which could create one
 *                past the filter); where Landlock has network rules (ABI 4+) TCP bind and connect are refused by them too
 *   --scope      no signals to, and no abstract unix sockets of, processes outside the sandbox (ABI 6+)
 *   --no-clone3  keeps processes in their control groups: clone3 is refused (ENOSYS, on which C libraries fall back to
 *                clone), because its CLONE_INTO_CGROUP puts the child into any cgroup v2 group whose directory the
 *                caller can open, which neither a read-only /sys nor Landlock stops (measured on Linux 6.18)
 *   --no-keyring the kernel's keyrings are out of reach: keyctl, add_key and request_key are refused (a process of
 *                the same uid shares the user keyrings, and every process shares the session keyring it inherited)
 *   --ipc-namespace  a System V IPC namespace of its own (shared memory, semaphores, message queues): needs
 *                CAP_SYS_ADMIN, so a daemon running as root; fails rather than run without it
 *   --no-sysv-ipc    the System V IPC calls (shm*, sem*, msg*) are refused, where no namespace can be made
 *   --filter-only    no Landlock and no capability dropped: only the filters asked for, in front of another sandbox
 *                (bubblewrap), which then inherits them; no_new_privs only where seccomp needs it (no CAP_SYS_ADMIN)
 *   --setenv     set an environment variable for PROGRAM
 *
 * Paths are opened with O_PATH | O_NOFOLLOW: a symbolic link planted where a rule points gets the rule on the link
 * itself, never on what it points to. A path that does not exist is skipped (what is not granted stays denied).
 * Every capability is dropped (bounding, ambient, effective, permitted, inheritable): a daemon running as root would
 * otherwise hand the workspace root's powers (loading modules, raw sockets, mounting in a new namespace) that no file
 * rule limits. Then no_new_privs: a setuid program cannot gain privileges back, and Landlock requires it.
 * Exit status 126 when the sandbox cannot be set up, with a message that says why; nothing runs unconfined.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

/* The ruleset attribute as of ABI 6; older kernels accept a prefix of it (the size says which fields exist). */
struct ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

#define FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
                     LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define READ_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define DEV_RIGHTS (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

static int fail(const char *what, const char *detail)
{
    dprintf(2, "orchflow: cannot set up the Landlock sandbox: %s%s%s\r\n", what, detail ? ": " : "", detail ? detail : "");
    return 126;
}

static uint64_t handled_fs_for(int abi)
{
    uint64_t fs = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
                  LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
                  LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                  LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
                  LANDLOCK_ACCESS_FS_MAKE_SYM;
    if (abi >= 2) fs |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3) fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5) fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    return fs;
}

/* Adds one rule; rights are cut to what the kernel handles and, for a non-directory, to the rights a file can have. */
static int add_path(int ruleset, const char *path, uint64_t rights, uint64_t handled, int follow)
{
    int fd = open(path, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return 0;
        return fail(path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return fail(path, strerror(errno));
    }
    if (S_ISLNK(st.st_mode)) { /* a rule on a link grants nothing useful; never follow it */
        close(fd);
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) rights &= FILE_RIGHTS;
    struct landlock_path_beneath_attr attr = { .allowed_access = rights & handled, .parent_fd = fd };
    int rc = attr.allowed_access == 0 ? 0 : (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0);
    int saved = errno;
    close(fd);
    if (rc != 0) return fail(path, strerror(saved));
    return 0;
}

/* Drops every capability for good. Without CAP_SETPCAP (an unprivileged user) there is nothing to drop. */
static int drop_capabilities(void)
{
    for (int cap = 0; cap <= 63; cap++) {
        if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break; /* past the last capability this kernel knows */
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EPERM) return fail("dropping capabilities", strerror(errno));
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return fail("clearing ambient capabilities", strerror(errno));
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capset, &header, data) != 0) return fail("clearing capabilities", strerror(errno));
    return 0;
}

/*
 * The network filter of --net-none. Landlock's network rules cover TCP only, so sockets are refused where they are
 * made: socket(2) with any family but AF_UNIX (local, reachable only by path, which Landlock's file rules and the
 * daemon's peer check govern, or abstractly, which --scope closes) and AF_NETLINK (the kernel's own, which programs
 * use to list interfaces). io_uring is refused as a whole, since its IORING_OP_SOCKET makes sockets without the
 * socket system call; programs fall back to plain system calls on ENOSYS. A 32-bit (compat) caller gets the same
 * filter under its own numbers, and its multiplexed socketcall(2), whose arguments a filter cannot read, is refused;
 * x32 calls are refused. Refusals are EACCES ("Permission denied"), what a program expects of a denied socket.
 */
#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define COMPAT_ARCH AUDIT_ARCH_I386
#define COMPAT_SOCKET 359
#define COMPAT_SOCKETCALL 102
#define X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#define COMPAT_ARCH AUDIT_ARCH_ARM
#define COMPAT_SOCKET 281
#define COMPAT_SOCKETCALL 0xffffffffu /* none on arm */
#define X32_BIT 0xffffffffu           /* no x32 */
#endif
#define IO_URING_SETUP 425 /* the same on every architecture (the unified syscall table) */
#define IO_URING_ENTER 426
#define IO_URING_REGISTER 427

#ifdef NATIVE_ARCH
static int refuse_network(void)
{
    /* Offsets into struct seccomp_data; the family is the low half of the first argument (little-endian). */
    enum { NR = offsetof(struct seccomp_data, nr), ARCH = offsetof(struct seccomp_data, arch), ARG0 = offsetof(struct seccomp_data, args[0]) };
    /* A jump's offsets count from the next instruction: at i, offset k lands on i + 1 + k (numbered below). */
    struct sock_filter code[] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARCH),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
        /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, COMPAT_ARCH, 7, 14),
        /* native */
        /* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
        /* 4 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_BIT, 13, 0),
        /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 13, 0),
        /* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IO_URING_SETUP, 8, 0),
        /* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IO_URING_ENTER, 7, 0),
        /* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IO_URING_REGISTER, 6, 0),
        /* 9 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* compat */
        /* 10 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
        /* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, COMPAT_SOCKETCALL, 6, 0),
        /* 12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, COMPAT_SOCKET, 6, 0),
        /* 13 */ BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, IO_URING_SETUP, 0, 2),
        /* 14 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, IO_URING_REGISTER, 1, 0),
        /* 15 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        /* 16 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        /* 17: an architecture this process cannot be: kill rather than guess */
        /* 17 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        /* 18: x32, and socketcall */
        /* 18 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
        /* 19: socket(family, ...): only Unix and netlink */
        /* 19 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0),
        /* 20 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 2, 0),
        /* 21 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 1, 0),
        /* 22 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
        /* 23 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) return fail("installing the network filter (seccomp)", strerror(errno));
    return 0;
}
#else
static int refuse_network(void)
{
    return fail("--net-none", "no network filter is built for this processor architecture");
}
#endif

/*
 * The kernel filter of --no-clone3, --no-keyring and --no-sysv-ipc: a list of system calls refused with an errno, for
 * this architecture and its 32-bit compat one (x32 calls are matched by their x86_64 numbers). The 32-bit numbers are
 * the kernel's syscall tables (arch/x86/entry/syscalls/syscall_32.tbl, arch/arm/tools/syscall.tbl); i386's
 * multiplexed ipc(2) is refused whole with the System V calls.
 */
struct refusal { uint32_t nr; uint32_t err; };

#define MAX_REFUSALS 32

#if defined(__x86_64__)
static const uint32_t COMPAT_CLONE3[] = { 435 };
static const uint32_t COMPAT_KEYRING[] = { 286, 287, 288 };
static const uint32_t COMPAT_SYSV[] = { 117, 393, 394, 395, 396, 397, 398, 399, 400, 401, 402, 420 };
#elif defined(__aarch64__)
static const uint32_t COMPAT_CLONE3[] = { 435 };
static const uint32_t COMPAT_KEYRING[] = { 309, 310, 311 };
static const uint32_t COMPAT_SYSV[] = { 298, 299, 300, 301, 302, 303, 304, 305, 306, 307, 308, 312, 420 };
#endif

#ifdef NATIVE_ARCH
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
static const uint32_t NATIVE_CLONE3[] = { SYS_clone3 };
static const uint32_t NATIVE_KEYRING[] = { SYS_add_key, SYS_request_key, SYS_keyctl };
static const uint32_t NATIVE_SYSV[] = { SYS_shmget, SYS_shmat, SYS_shmctl, SYS_shmdt, SYS_msgget, SYS_msgsnd, SYS_msgrcv,
                                        SYS_msgctl, SYS_semget, SYS_semop, SYS_semctl, SYS_semtimedop };

static void add_refusals(struct refusal *list, int *count, const uint32_t *nrs, size_t n, uint32_t err)
{
    for (size_t i = 0; i < n && *count < MAX_REFUSALS; i++) list[(*count)++] = (struct refusal){ nrs[i], err };
}

#define ADD(list, count, nrs, err) add_refusals(list, count, nrs, sizeof(nrs) / sizeof(nrs[0]), err)

static int refuse_kernel_calls(int clone3, int keyring, int sysv)
{
    struct refusal native[MAX_REFUSALS], compat[MAX_REFUSALS];
    int n = 0, c = 0;
    if (clone3) { ADD(native, &n, NATIVE_CLONE3, ENOSYS); ADD(compat, &c, COMPAT_CLONE3, ENOSYS); }
    if (keyring) { ADD(native, &n, NATIVE_KEYRING, EACCES); ADD(compat, &c, COMPAT_KEYRING, EACCES); }
    if (sysv) { ADD(native, &n, NATIVE_SYSV, EACCES); ADD(compat, &c, COMPAT_SYSV, EACCES); }
    if (n == 0) return 0;

    enum { NR = offsetof(struct seccomp_data, nr), ARCH = offsetof(struct seccomp_data, arch) };
    /* 0 load arch; 1-2 native: jump to its block; 3-4 compat: jump to its block; 5 any other: kill. Each block loads
       the number and tests it against each refusal (a test and a return per refusal), then allows. */
    struct sock_filter code[6 + 2 * (2 + 2 * MAX_REFUSALS + 1)];
    int len = 0, native_start = 6, compat_start = native_start + 2 + 2 * n + 1;
    code[len++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARCH);
    code[len++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, 1);
    code[len++] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, native_start - 3);
    code[len++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, COMPAT_ARCH, 0, 1);
    code[len++] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, compat_start - 5);
    code[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    code[len++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR);
    /* x32 numbers are the x86_64 ones with this bit set (none on arm64, where the mask changes nothing). */
    code[len++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, X32_BIT == 0xffffffffu ? 0xffffffffu : ~X32_BIT);
    for (int i = 0; i < n; i++) {
        code[len++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, native[i].nr, 0, 1);
        code[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | native[i].err);
    }
    code[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    code[len++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR);
    code[len++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xffffffffu);
    for (int i = 0; i < c; i++) {
        code[len++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, compat[i].nr, 0, 1);
        code[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | compat[i].err);
    }
    code[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

    struct sock_fprog program = { .len = (unsigned short)len, .filter = code };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) return fail("installing the kernel filter (seccomp)", strerror(errno));
    return 0;
}
#else
static int refuse_kernel_calls(int clone3, int keyring, int sysv)
{
    if (!clone3 && !keyring && !sysv) return 0;
    return fail("--no-clone3, --no-keyring and --no-sysv-ipc", "no filter is built for this processor architecture");
}
#endif

/* True when this process holds CAP_SYS_ADMIN (in its effective set). */
static int has_sys_admin(void)
{
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) return 0;
    return (data[CAP_SYS_ADMIN / 32].effective >> (CAP_SYS_ADMIN % 32)) & 1;
}

int main(int argc, char **argv)
{
    int net_none = 0, scope = 0, no_clone3 = 0, no_keyring = 0, ipc_namespace = 0, no_sysv = 0, filter_only = 0, first = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) { first = i + 1; break; }
        if (strcmp(argv[i], "--net-none") == 0) net_none = 1;
        else if (strcmp(argv[i], "--scope") == 0) scope = 1;
        else if (strcmp(argv[i], "--no-clone3") == 0) no_clone3 = 1;
        else if (strcmp(argv[i], "--no-keyring") == 0) no_keyring = 1;
        else if (strcmp(argv[i], "--ipc-namespace") == 0) ipc_namespace = 1;
        else if (strcmp(argv[i], "--no-sysv-ipc") == 0) no_sysv = 1;
        else if (strcmp(argv[i], "--filter-only") == 0) filter_only = 1;
        else if (strcmp(argv[i], "--own-tty") == 0) continue;
        else if (strcmp(argv[i], "--setenv") == 0) i += 2;
        else if (strcmp(argv[i], "--ro") == 0 || strcmp(argv[i], "--rw") == 0 || strcmp(argv[i], "--dev") == 0) i++;
        else return fail("unknown option", argv[i]);
    }
    if (first < 0 || first >= argc) return fail("usage", "orchflow-landlock [options] -- PROGRAM [ARG]...");

    if (filter_only) {
        /* In front of bubblewrap: bwrap and everything it starts inherit the filter. seccomp needs no_new_privs unless
           the caller holds CAP_SYS_ADMIN (a daemon running as root), and then bwrap sets it for the sandbox itself. */
        if (!has_sys_admin() && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail("no_new_privs", strerror(errno));
        int refused = refuse_kernel_calls(no_clone3, no_keyring, no_sysv);
        if (refused != 0) return refused;
        execvp(argv[first], &argv[first]);
        dprintf(2, "orchflow: cannot run %s: %s\r\n", argv[first], strerror(errno));
        return errno == ENOENT ? 127 : 126;
    }

    int abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1) return fail("Landlock is not available in this kernel", strerror(errno));
    if (scope && abi < 6) return fail("--scope needs Landlock ABI 6 (Linux 6.12)", NULL);

    struct ruleset_attr attr = { .handled_access_fs = handled_fs_for(abi) };
    size_t size = sizeof(uint64_t);
    if (abi >= 4) {
        size = 2 * sizeof(uint64_t);
        if (net_none) attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP;
    }
    if (abi >= 6) {
        size = sizeof(attr);
        if (scope) attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
    }
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (ruleset < 0) return fail("landlock_create_ruleset", strerror(errno));

    uint64_t handled = attr.handled_access_fs;
    for (int i = 1; i < first - 1; i++) {
        int rc = 0;
        if (strcmp(argv[i], "--ro") == 0) rc = add_path(ruleset, argv[++i], READ_RIGHTS, handled, 0);
        else if (strcmp(argv[i], "--rw") == 0) rc = add_path(ruleset, argv[++i], handled, handled, 0);
        else if (strcmp(argv[i], "--dev") == 0) rc = add_path(ruleset, argv[++i], DEV_RIGHTS, handled, 0);
        else if (strcmp(argv[i], "--own-tty") == 0) {
            /* The terminal on fd 0 by its descriptor, not by a name someone could replace. */
            if (isatty(0)) rc = add_path(ruleset, "/proc/self/fd/0", DEV_RIGHTS, handled, 1);
        } else if (strcmp(argv[i], "--setenv") == 0) {
            if (setenv(argv[i + 1], argv[i + 2], 1) != 0) return fail("setenv", strerror(errno));
            i += 2;
        }
        if (rc != 0) return rc;
    }

    /* While the capabilities are still there: a new IPC namespace needs CAP_SYS_ADMIN. */
    if (ipc_namespace && unshare(CLONE_NEWIPC) != 0) return fail("a System V IPC namespace of its own (unshare CLONE_NEWIPC)", strerror(errno));
    int dropped = drop_capabilities();
    if (dropped != 0) return dropped;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail("no_new_privs", strerror(errno));
    if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) return fail("landlock_restrict_self", strerror(errno));
    close(ruleset);
    if (net_none) {
        int refused = refuse_network();
        if (refused != 0) return refused;
    }
    int refused = refuse_kernel_calls(no_clone3, no_keyring, no_sysv);
    if (refused != 0) return refused;

    execvp(argv[first], &argv[first]);
    dprintf(2, "orchflow: cannot run %s: %s\r\n", argv[first], strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
