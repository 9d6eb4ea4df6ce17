/*
 * orchflow-netproxy: inside a sandbox whose network namespace has only a loopback interface, makes the daemon's
 * per-workspace HTTP proxy reachable at 127.0.0.1:PORT, then becomes PROGRAM.
 *
 *   orchflow-netproxy PORT UNIX_SOCKET -- PROGRAM [ARG]...
 *
 * Every TCP connection to 127.0.0.1:PORT is relayed, byte for byte, to UNIX_SOCKET (the daemon's proxy, bound into
 * the sandbox), which decides per request whether the host is in the workspace's allowed_hosts. Nothing else leaves
 * the namespace: there is no other interface. PROGRAM gets HTTP_PROXY, HTTPS_PROXY and ALL_PROXY (both cases)
 * pointing at the relay, and NO_PROXY for the loopback.
 *
 * PROGRAM keeps this process's pid, session and terminal (job control, exit status). The relay is a child in a
 * session of its own, with no terminal and SIGKILL as its parent-death signal, so it never sees the terminal's
 * signals and never outlives PROGRAM (the sandbox's PID namespace ends it too).
 * Exit status 126 when the relay cannot be set up; nothing runs then.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what, const char *detail)
{
    dprintf(2, "orchflow: cannot set up the network relay: %s%s%s\r\n", what, detail ? ": " : "", detail ? detail : "");
    return 126;
}

/* Copies both ways until either side closes; half-closes are passed on. */
static void relay(int a, int b)
{
    char buf[65536];
    struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
    int open_a = 1, open_b = 1;
    while (open_a || open_b) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int from = p[i].fd, to = i == 0 ? b : a;
            ssize_t n = read(from, buf, sizeof buf);
            if (n <= 0) {
                shutdown(to, SHUT_WR);
                p[i].fd = -1;
                if (i == 0) open_a = 0; else open_b = 0;
                continue;
            }
            for (ssize_t off = 0; off < n;) {
                ssize_t w = write(to, buf + off, (size_t)(n - off));
                if (w <= 0) return;
                off += w;
            }
        }
    }
}

static void serve(int listener, const char *path)
{
    signal(SIGCHLD, SIG_IGN); /* connection children are reaped by the kernel */
    for (;;) {
        int client = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (client < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            _exit(1);
        }
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(listener);
            int up = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_un addr = { .sun_family = AF_UNIX };
            strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
            if (up < 0 || connect(up, (struct sockaddr *)&addr, sizeof addr) != 0) {
                static const char reply[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
                                            "orchflow: the workspace's network proxy is not running; restart the terminal\n";
                if (write(client, reply, sizeof reply - 1) < 0) _exit(1);
                _exit(1);
            }
            relay(client, up);
            _exit(0);
        }
        close(client);
    }
}

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--") != 0) return fail("usage", "orchflow-netproxy PORT UNIX_SOCKET -- PROGRAM [ARG]...");
    int port = atoi(argv[1]);
    const char *path = argv[2];
    if (port <= 0 || port > 65535) return fail("not a port", argv[1]);
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) return fail("socket path too long", path);

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0) return fail("socket", strerror(errno));
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0) return fail("bind 127.0.0.1", strerror(errno));
    if (listen(listener, 64) != 0) return fail("listen", strerror(errno));

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return fail("fork", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(0);
        setsid();
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        serve(listener, path);
        _exit(0);
    }
    close(listener);

    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    const char *names[] = { "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) setenv(names[i], url, 1);
    setenv("NO_PROXY", "localhost,127.0.0.1", 1);
    setenv("no_proxy", "localhost,127.0.0.1", 1);

    execvp(argv[4], &argv[4]);
    dprintf(2, "orchflow: cannot run %s: %s\r\n", argv[4], strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
