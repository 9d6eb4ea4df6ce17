// orchflow-holder: holds one terminal (the PTY master, its child and a bounded output buffer) so that the terminal
// outlives the daemon. The daemon talks to it over a Unix socket; a new daemon re-attaches and replays.
//
//   orchflow-holder --socket PATH --cols C --rows R --scrollback BYTES [--window BYTES]
//                   [--cwd DIR [--confine ROOT] | --cwd-fd N] [--argv0 NAME] -- PROGRAM ARG...
//
// PROGRAM is an absolute path (the daemon resolved it); argv[0] of the child is NAME, else PROGRAM. The holder's own
// environment is the child's; the holder reads nothing from it. --confine ROOT: the directory is opened once, checked
// to be ROOT or inside it as opened (symlinks resolved), and the child enters it through that descriptor, so a symlink
// swapped in after the daemon's check cannot move the child elsewhere. --cwd-fd N does the same with a descriptor the
// starter passed. On stdout the holder writes one line, "ready" once the socket listens and the child has executed (or
// failed to: that is reported in HELLO), or "error: TEXT" and exits 1 (2 for a bad command line). Then 0, 1 and 2 are
// /dev/null.
//
// Design: single-threaded, one poll() loop, no allocation after start beyond the fixed buffers; RSS is about 1 MB
// plus the part of the ring the output has touched. The holder leads a session of its own (setsid) and ignores SIGHUP
// and SIGPIPE, so the daemon's end does not reach it; it forks the child itself (safe: single-threaded) so it can
// waitpid for the exit status after the daemon has gone.
//
// Protocol (ORCHFLOW_HOLDER_PROTOCOL 1): frames "u32 little-endian payload length | u8 type | payload". Stable across
// versions: this header and the first three fields of HELLO (version, holder pid, child pid), so a client of another
// version can still say which holder it cannot adopt. Offsets are u64 byte counts since the child started.
//   holder -> client  1 HELLO   u32 version, i32 holder pid, i32 child pid, u16 cols, u16 rows, u64 first retained,
//                               u64 next, u8 state (0 running, 1 exited, 2 spawn failed), u8 exit kind (0 code,
//                               1 signal, 2 unknown), i32 exit value, i32 spawn errno, u8 spawn step (1 directory,
//                               2 terminal, 3 exec), then the slave's name (the rest of the payload).
//                     2 OUTPUT  u64 offset, bytes
//                     3 EXIT    u8 kind, i32 value (after the last OUTPUT; the master is closed by then)
//                     4 ERROR   text
//   client -> holder 16 HELLO   u32 version: the client's first frame; another version gets an ERROR and is closed
//                    17 READ    u64 from: send output from there (>= first retained, <= next); also acknowledges
//                               everything before it
//                    18 ACK     u64 offset: bytes consumed (flow control); at most what was sent
//                    19 INPUT   bytes, written to the master as typed (at most 64 KiB a frame)
//                    20 RESIZE  u16 cols, u16 rows
//                    21 SIGNAL  i32 signo, to the child's process group
//                    22 RELEASE the client has the exit: the holder removes its socket and exits 0
//
// Buffer: one ring of scrollback + window bytes. It keeps up to --scrollback bytes of acknowledged output (what a new
// daemon replays) and at most --window bytes (default 1 MiB, at least 256 KiB) not yet acknowledged; when that part is full the holder stops reading the
// master, so the child blocks in write() and nothing is dropped. Acknowledged bytes beyond the scrollback leave the
// ring from the front.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define ORCHFLOW_HOLDER_PROTOCOL 1

enum {
    F_HELLO = 1, F_OUTPUT = 2, F_EXIT = 3, F_ERROR = 4,
    C_HELLO = 16, C_READ = 17, C_ACK = 18, C_INPUT = 19, C_RESIZE = 20, C_SIGNAL = 21, C_RELEASE = 22,
};
enum { ST_RUNNING = 0, ST_EXITED = 1, ST_SPAWN_FAILED = 2 };
enum { EXIT_CODE = 0, EXIT_SIGNAL = 1, EXIT_UNKNOWN = 2 };
enum { STEP_DIRECTORY = 1, STEP_TERMINAL = 2, STEP_EXEC = 3 };

#define HEADER 5
#define MAX_IN_PAYLOAD (64 * 1024)
#define MAX_OUT_CHUNK (64 * 1024)
#define CONTROL_MAX 1024
// Clients acknowledge output in steps (HolderPtyProcess: every 64 KiB); a window several steps wide never stalls them.
#define MIN_WINDOW (256 * 1024)
// Input the terminal has not taken yet. While it has room, the client's later frames (ACK above all) are still read,
// so a paste into a program that is itself blocked on output does not stall the acknowledgements that would unblock it.
#define INPUT_BUFFER (256 * 1024)
// After the child's exit, the output is complete at EIO (every holder of the slave closed it) or after this long
// without output while the holder could read (a background job keeps the slave open), as in LinuxPtyProcess.
#define DRAIN_QUIET_MS 250

static struct {
    const char *socket_path;
    int listen_fd, client_fd, master_fd, signal_fd;
    pid_t child;
    int state, exit_kind, exit_value, spawn_errno, spawn_step;
    unsigned short cols, rows;
    char pts_name[128];

    uint8_t *ring;
    uint64_t capacity, scrollback, window;
    uint64_t first, next, acked;
    int drained;               // the output is complete: master closed, EXIT may follow the last OUTPUT
    int64_t quiet_since_ms;    // after the exit: when the master was last found empty (0: not yet)

    // The current client.
    int greeted;               // its HELLO (version) arrived
    int reading;               // READ arrived: output flows
    uint64_t sent;             // output offset up to which whole OUTPUT frames were written to it
    int hello_pending, exit_sent, close_after;
    char error[CONTROL_MAX - HEADER];  // an ERROR reply waiting for the frame slot; the client is not read meanwhile
    size_t error_len;
    int error_closes;
    uint8_t in[HEADER + MAX_IN_PAYLOAD];
    size_t in_len;

    // The frame being written to the client: a header (or a whole control frame) and an optional span of the ring.
    uint8_t control[CONTROL_MAX];
    size_t control_len, frame_done;
    const uint8_t *data;
    size_t data_len, data2_len;  // the ring span may wrap: data2 starts at ring[0]
    uint64_t frame_end;          // sent becomes this once an OUTPUT frame is written

    // Input accepted from a client but not yet taken by the terminal; it outlives the client that sent it.
    uint8_t input[INPUT_BUFFER];
    size_t input_len, input_done;
    int input_full;  // an INPUT frame waits in h.in for room here; the client is not read meanwhile
} h;

static void fail_start(int code, const char *format, ...) __attribute__((noreturn, format(printf, 2, 3)));

static void fail_start(int code, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fputs("error: ", stdout);
    vfprintf(stdout, format, args);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(args);
    if (h.listen_fd > 0 && h.socket_path) {
        unlink(h.socket_path);
    }
    exit(code);
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = v << 8 | p[i]; return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | p[i]; return v; }

static int parse_number(const char *text, unsigned long long max, unsigned long long *out)
{
    if (!text || !*text || *text == '-') {
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v > max) {
        return 0;
    }
    *out = v;
    return 1;
}

static void usage(const char *problem)
{
    fail_start(2, "%s. Usage: orchflow-holder --socket PATH --cols C --rows R --scrollback BYTES [--window BYTES] "
               "[--cwd DIR [--confine ROOT] | --cwd-fd N] [--argv0 NAME] -- PROGRAM ARG...", problem);
}

// ---- the client connection ------------------------------------------------------------------------------------------

static int frame_in_flight(void) { return h.control_len > 0; }

static void drop_client(void)
{
    if (h.client_fd >= 0) {
        close(h.client_fd);
    }
    h.client_fd = -1;
    h.greeted = h.reading = h.hello_pending = h.exit_sent = h.close_after = h.error_closes = 0;
    h.error_len = 0;
    h.in_len = h.control_len = h.frame_done = h.data_len = h.data2_len = 0;
    h.data = NULL;
    h.frame_end = 0;
}

static void start_control(uint8_t type, const void *payload, size_t length)
{
    if (length > CONTROL_MAX - HEADER) {
        length = CONTROL_MAX - HEADER;
    }
    put32(h.control, (uint32_t)length);
    h.control[4] = type;
    memcpy(h.control + HEADER, payload, length);
    h.control_len = HEADER + length;
    h.frame_done = 0;
    h.data = NULL;
    h.data_len = h.data2_len = 0;
    h.frame_end = 0;
}

// Acknowledged bytes beyond the scrollback leave the ring from the front.
static void update_first(void)
{
    if (h.acked > h.scrollback && h.acked - h.scrollback > h.first) {
        h.first = h.acked - h.scrollback;
    }
}

static size_t hello_payload(uint8_t *p)
{
    update_first();
    put32(p, ORCHFLOW_HOLDER_PROTOCOL);
    put32(p + 4, (uint32_t)getpid());
    put32(p + 8, (uint32_t)h.child);
    put16(p + 12, h.cols);
    put16(p + 14, h.rows);
    put64(p + 16, h.first);
    put64(p + 24, h.next);
    p[32] = (uint8_t)h.state;
    p[33] = (uint8_t)h.exit_kind;
    put32(p + 34, (uint32_t)h.exit_value);
    put32(p + 38, (uint32_t)h.spawn_errno);
    p[42] = (uint8_t)h.spawn_step;
    size_t name = strlen(h.pts_name);
    memcpy(p + 43, h.pts_name, name);
    return 43 + name;
}

// Queues an ERROR frame, written after the frame under way; with closes, the connection ends once it is written.
// The client's frames are not read while one waits, so there is never a second.
static void send_error(int closes, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void send_error(int closes, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = vsnprintf(h.error, sizeof h.error, format, args);
    va_end(args);
    h.error_len = n < 0 ? 0 : (size_t)n >= sizeof h.error ? sizeof h.error - 1 : (size_t)n;
    h.error_closes = closes;
    if (h.error_len == 0) {
        h.error[0] = '?';
        h.error_len = 1;
    }
}

// Chooses the next frame for the client when none is being written.
static void next_frame(void)
{
    if (h.client_fd < 0 || frame_in_flight()) {
        return;
    }
    if (h.hello_pending) {
        uint8_t p[64 + sizeof h.pts_name];
        start_control(F_HELLO, p, hello_payload(p));
        h.hello_pending = 0;
        return;
    }
    if (h.error_len) {
        start_control(F_ERROR, h.error, h.error_len);
        h.close_after = h.error_closes;
        h.error_len = 0;
        return;
    }
    if (!h.reading) {
        return;
    }
    if (h.sent < h.next) {
        uint64_t n = h.next - h.sent;
        if (n > MAX_OUT_CHUNK) {
            n = MAX_OUT_CHUNK;
        }
        uint64_t at = h.sent % h.capacity;
        uint64_t contiguous = h.capacity - at;
        put32(h.control, (uint32_t)(8 + n));
        h.control[4] = F_OUTPUT;
        put64(h.control + HEADER, h.sent);
        h.control_len = HEADER + 8;
        h.frame_done = 0;
        h.data = h.ring + at;
        h.data_len = n <= contiguous ? n : contiguous;
        h.data2_len = n - h.data_len;
        h.frame_end = h.sent + n;
        return;
    }
    if (h.drained && h.state != ST_RUNNING && !h.exit_sent) {
        uint8_t p[5];
        p[0] = (uint8_t)h.exit_kind;
        put32(p + 1, (uint32_t)h.exit_value);
        start_control(F_EXIT, p, sizeof p);
        h.exit_sent = 1;
    }
}

// Writes as much of the current frame as the socket takes.
static void flush_client(void)
{
    while (h.client_fd >= 0) {
        next_frame();
        if (!frame_in_flight()) {
            return;
        }
        struct iovec parts[3];
        int count = 0;
        size_t done = h.frame_done, total = h.control_len + h.data_len + h.data2_len;
        if (done < h.control_len) {
            parts[count++] = (struct iovec){ h.control + done, h.control_len - done };
            done = 0;
        } else {
            done -= h.control_len;
        }
        if (done < h.data_len) {
            parts[count++] = (struct iovec){ (void *)(h.data + done), h.data_len - done };
            done = 0;
        } else {
            done -= h.data_len;
        }
        if (h.data2_len > done) {
            parts[count++] = (struct iovec){ h.ring + done, h.data2_len - done };
        }
        ssize_t n = writev(h.client_fd, parts, count);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN) {
                drop_client();
            }
            return;
        }
        h.frame_done += (size_t)n;
        if (h.frame_done < total) {
            continue;
        }
        if (h.frame_end) {
            h.sent = h.frame_end;
        }
        h.control_len = h.frame_done = h.data_len = h.data2_len = 0;
        h.frame_end = 0;
        if (h.close_after) {
            drop_client();
            return;
        }
    }
}

static void read_client(void);

static void accept_client(void)
{
    int fd = accept4(h.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    struct ucred peer = { .uid = (uid_t)-1 };
    socklen_t length = sizeof peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 || peer.uid != getuid()) {
        // A refused peer never becomes the client: it gets one blocking-free attempt at the reason, then is closed.
        char text[160];
        int n = snprintf(text, sizeof text, "uid %u may not attach to this terminal's holder; only uid %u may",
                         (unsigned)peer.uid, (unsigned)getuid());
        uint8_t frame[HEADER + 160];
        put32(frame, (uint32_t)n);
        frame[4] = F_ERROR;
        memcpy(frame + HEADER, text, (size_t)n);
        ssize_t ignored = write(fd, frame, HEADER + (size_t)n);
        (void)ignored;
        close(fd);
        return;
    }
    // One client at a time: the newest wins (a daemon that died may not have been noticed yet). What the old one
    // sent before it went (its last ACK above all) still counts, so it is read first.
    read_client();
    drop_client();
    h.client_fd = fd;
    h.hello_pending = 1;
}

// Writes pending input to the terminal without blocking; true when all of it went.
static int flush_input(void)
{
    while (h.input_done < h.input_len) {
        if (h.master_fd < 0) {
            h.input_len = h.input_done = 0;  // nothing holds the terminal any more: there is nobody to type to
            return 1;
        }
        ssize_t n = write(h.master_fd, h.input + h.input_done, h.input_len - h.input_done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                return 0;
            }
            h.input_len = h.input_done = 0;  // EIO: the slave is closed
            return 1;
        }
        h.input_done += (size_t)n;
        h.input_full = 0;
    }
    h.input_len = h.input_done = 0;
    h.input_full = 0;
    return 1;
}

static void release_and_exit(void)
{
    unlink(h.socket_path);
    exit(0);
}

// Acts on one complete frame from the client; returns 0 when the connection was dropped.
static int handle_frame(uint8_t type, const uint8_t *p, uint32_t length)
{
    if (!h.greeted) {
        if (type != C_HELLO || length < 4) {
            send_error(1, "the first frame must be HELLO with the protocol version (this holder speaks %d)",
                       ORCHFLOW_HOLDER_PROTOCOL);
            return 1;
        }
        uint32_t version = get32(p);
        if (version != ORCHFLOW_HOLDER_PROTOCOL) {
            send_error(1, "protocol version %u is not supported: this holder speaks version %d only; it keeps "
                       "running until its terminal ends", version, ORCHFLOW_HOLDER_PROTOCOL);
            return 1;
        }
        h.greeted = 1;
        return 1;
    }
    switch (type) {
    case C_READ: {
        if (length != 8) {
            break;
        }
        uint64_t from = get64(p);
        if (from < h.first || from > h.next) {
            send_error(0, "cannot read from offset %llu: this holder retains offsets %llu to %llu",
                       (unsigned long long)from, (unsigned long long)h.first, (unsigned long long)h.next);
            return 1;
        }
        h.reading = 1;
        h.sent = from;
        h.exit_sent = 0;
        // An OUTPUT frame under way still goes out whole (the client drops what lies before its offset), but it no
        // longer moves the position.
        h.frame_end = 0;
        if (from > h.acked) {
            h.acked = from;
            update_first();
        }
        return 1;
    }
    case C_ACK: {
        if (length != 8) {
            break;
        }
        uint64_t offset = get64(p);
        if (!h.reading || offset > h.sent) {
            send_error(0, "cannot acknowledge offset %llu: only output up to %llu was sent on this connection",
                       (unsigned long long)offset, (unsigned long long)(h.reading ? h.sent : 0));
            return 1;
        }
        if (offset > h.acked) {
            h.acked = offset;
            update_first();
        }
        return 1;
    }
    case C_INPUT:
        // read_client made room for it.
        memcpy(h.input + h.input_len, p, length);
        h.input_len += length;
        flush_input();
        return 1;
    case C_RESIZE: {
        if (length != 4) {
            break;
        }
        unsigned short cols = get16(p), rows = get16(p + 2);
        if (cols == 0 || rows == 0) {
            send_error(0, "cannot resize to %ux%u: both dimensions must be at least 1", cols, rows);
            return 1;
        }
        h.cols = cols;
        h.rows = rows;
        if (h.master_fd >= 0) {
            struct winsize size = { .ws_row = rows, .ws_col = cols };
            ioctl(h.master_fd, TIOCSWINSZ, &size);
        }
        return 1;
    }
    case C_SIGNAL: {
        if (length != 4) {
            break;
        }
        int signo = (int)get32(p);
        if (signo <= 0 || signo >= NSIG) {
            send_error(0, "%d is not a signal number", signo);
            return 1;
        }
        // Once the child is reaped its pid may be reused: the group is signalled only while it is ours.
        if (h.state == ST_RUNNING) {
            kill(-h.child, signo);
        }
        return 1;
    }
    case C_RELEASE:
        if (length != 0) {
            break;
        }
        if (h.state == ST_RUNNING) {
            send_error(0, "cannot release a running terminal: RELEASE only after EXIT (send SIGNAL to end it)");
            return 1;
        }
        release_and_exit();
        return 0;
    default:
        send_error(1, "unknown frame type %u", type);
        return 1;
    }
    send_error(1, "frame type %u has a payload of %u bytes, which is malformed", type, length);
    return 1;
}

// Reads the client's frames, but none while an INPUT frame waits for room or an ERROR reply waits to be written: the
// client's own socket is the backpressure.
static int client_readable(void) { return h.client_fd >= 0 && !h.input_full && !h.error_len && !h.close_after; }

static void read_client(void)
{
    while (client_readable()) {
        if (h.in_len >= HEADER) {
            uint32_t length = get32(h.in);
            if (length > MAX_IN_PAYLOAD) {
                send_error(1, "a frame of %u bytes is larger than the %d this holder accepts", length, MAX_IN_PAYLOAD);
                return;
            }
            if (h.in_len >= HEADER + length) {
                if (h.in[4] == C_INPUT && h.greeted) {
                    if (h.input_done > 0) {
                        memmove(h.input, h.input + h.input_done, h.input_len - h.input_done);
                        h.input_len -= h.input_done;
                        h.input_done = 0;
                    }
                    if (h.input_len + length > sizeof h.input) {
                        h.input_full = 1;
                        return;
                    }
                }
                if (!handle_frame(h.in[4], h.in + HEADER, length) || h.client_fd < 0) {
                    return;
                }
                memmove(h.in, h.in + HEADER + length, h.in_len - HEADER - length);
                h.in_len -= HEADER + length;
                continue;
            }
        }
        ssize_t n = read(h.client_fd, h.in + h.in_len, sizeof h.in - h.in_len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            return;
        }
        if (n <= 0) {
            drop_client();
            return;
        }
        h.in_len += (size_t)n;
    }
}

// ---- the terminal -------------------------------------------------------------------------------------------------

static void close_master(void)
{
    if (h.master_fd >= 0) {
        close(h.master_fd);
        h.master_fd = -1;
    }
    h.drained = 1;
}

// How many bytes the holder may read from the master now: the unacknowledged part stays within the window.
static uint64_t read_allowance(void)
{
    update_first();
    uint64_t unacked = h.next - h.acked;
    return unacked >= h.window ? 0 : h.window - unacked;
}

static void read_master(void)
{
    for (;;) {
        uint64_t allowed = read_allowance();
        if (allowed == 0 || h.master_fd < 0) {
            return;
        }
        uint64_t at = h.next % h.capacity;
        uint64_t n = h.capacity - at;
        if (n > allowed) {
            n = allowed;
        }
        ssize_t got = read(h.master_fd, h.ring + at, n);
        if (got > 0) {
            h.next += (uint64_t)got;
            h.quiet_since_ms = 0;
            continue;
        }
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0 && errno == EAGAIN) {
            if (h.state != ST_RUNNING && h.quiet_since_ms == 0) {
                h.quiet_since_ms = now_ms();
            }
            return;
        }
        // EIO: every holder of the slave has closed it, the normal end of output; anything else ends it too.
        close_master();
        return;
    }
}

static void reap_child(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(h.child, &status, WNOHANG)) < 0 && errno == EINTR) {
    }
    if (pid != h.child) {
        return;
    }
    if (h.state == ST_RUNNING) {
        h.state = ST_EXITED;
    }
    if (WIFEXITED(status)) {
        h.exit_kind = EXIT_CODE;
        h.exit_value = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        h.exit_kind = EXIT_SIGNAL;
        h.exit_value = WTERMSIG(status);
    } else {
        h.exit_kind = EXIT_UNKNOWN;
        h.exit_value = 0;
    }
    h.quiet_since_ms = 0;
}

static void handle_signals(void)
{
    struct signalfd_siginfo info;
    while (read(h.signal_fd, &info, sizeof info) == sizeof info) {
        if (info.ssi_signo == SIGCHLD) {
            reap_child();
        } else {
            // SIGTERM or SIGINT: the holder goes, its socket with it; closing the master hangs the terminal up.
            unlink(h.socket_path);
            exit(0);
        }
    }
}

// ---- start ---------------------------------------------------------------------------------------------------------

static void report_child_failure(int pipe_fd, int step)
{
    int values[2] = { step, errno };
    ssize_t ignored = write(pipe_fd, values, sizeof values);
    (void)ignored;
    _exit(127);
}

// In the child, in this order: a new session; every signal back to its default and an empty mask; the working
// directory; the slave opened by name without O_NOCTTY (a session leader acquires it as its controlling terminal) onto
// 0, 1 and 2; every other descriptor closed; exec. A failure goes back through the close-on-exec pipe.
static void run_child(int pipe_fd, int directory_fd, const char *directory, const char *program, char **argv)
{
    setsid();
    for (int s = 1; s < NSIG; s++) {
        signal(s, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (directory_fd >= 0 ? fchdir(directory_fd) != 0 : (directory && chdir(directory) != 0)) {
        report_child_failure(pipe_fd, STEP_DIRECTORY);
    }
    int slave = open(h.pts_name, O_RDWR);
    if (slave < 0 || dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) {
        report_child_failure(pipe_fd, STEP_TERMINAL);
    }
    // Everything from 3 up goes, the failure pipe included at exec (it is close-on-exec).
    if (syscall(SYS_close_range, (unsigned)pipe_fd + 1, ~0u, 0u) != 0) {
        for (long fd = pipe_fd + 1, max = sysconf(_SC_OPEN_MAX); fd < max; fd++) {
            close((int)fd);
        }
    }
    for (int fd = 3; fd < pipe_fd; fd++) {
        close(fd);
    }
    extern char **environ;
    execve(program, argv, environ);
    report_child_failure(pipe_fd, STEP_EXEC);
}

static int open_directory(const char *directory, const char *confine)
{
    int fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fail_start(1, "the working directory '%s' cannot be opened: %s", directory, strerror(errno));
    }
    if (confine) {
        char link[64], actual[PATH_MAX + 1];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, actual, PATH_MAX);
        size_t root = strlen(confine);
        int inside = n > 0 && (actual[n] = 0, strncmp(actual, confine, root) == 0)
                     && (actual[root] == 0 || actual[root] == '/' || strcmp(confine, "/") == 0);
        if (!inside) {
            fail_start(1, "the working directory '%s' is %s once opened, outside %s: it was replaced while the "
                       "terminal was starting (a symlink or rename)", directory, n > 0 ? actual : "somewhere unknown",
                       confine);
        }
    }
    return fd;
}

static void open_terminal(void)
{
    h.master_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (h.master_fd < 0 || grantpt(h.master_fd) != 0 || unlockpt(h.master_fd) != 0
        || ptsname_r(h.master_fd, h.pts_name, sizeof h.pts_name) != 0) {
        fail_start(1, "could not open a pseudo-terminal: %s", strerror(errno));
    }
    struct winsize size = { .ws_row = h.rows, .ws_col = h.cols };
    if (ioctl(h.master_fd, TIOCSWINSZ, &size) != 0) {
        fail_start(1, "could not set the terminal size: %s", strerror(errno));
    }
    // IUTF8: in canonical mode, erasing a character removes all the bytes of a multi-byte UTF-8 character.
    struct termios modes;
    if (tcgetattr(h.master_fd, &modes) == 0) {
        modes.c_iflag |= IUTF8;
        tcsetattr(h.master_fd, TCSANOW, &modes);
    }
}

static void listen_socket(void)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen(h.socket_path) >= sizeof address.sun_path) {
        fail_start(1, "the socket path '%s' is longer than the %zu bytes a Unix socket address holds", h.socket_path,
                   sizeof address.sun_path - 1);
    }
    strcpy(address.sun_path, h.socket_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail_start(1, "could not create a socket: %s", strerror(errno));
    }
    mode_t previous = umask(0177);
    int bound = bind(fd, (struct sockaddr *)&address, sizeof address);
    int bind_errno = errno;
    umask(previous);
    if (bound != 0) {
        fail_start(1, "could not listen at '%s': %s", h.socket_path, strerror(bind_errno));
    }
    h.listen_fd = fd;
    if (chmod(h.socket_path, 0600) != 0 || listen(fd, 4) != 0) {
        fail_start(1, "could not listen at '%s': %s", h.socket_path, strerror(errno));
    }
}

static void spawn_child(int directory_fd, const char *directory, const char *program, char **argv)
{
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        fail_start(1, "could not create a pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        fail_start(1, "could not fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(pipe_fds[0]);
        run_child(pipe_fds[1], directory_fd, directory, program, argv);
    }
    close(pipe_fds[1]);
    h.child = pid;
    int values[2];
    ssize_t n;
    while ((n = read(pipe_fds[0], values, sizeof values)) < 0 && errno == EINTR) {
    }
    close(pipe_fds[0]);
    if (directory_fd >= 0) {
        close(directory_fd);
    }
    if (n == sizeof values) {
        // The child never ran the program; HELLO says why, and the exit (127) is reaped by the loop.
        h.state = ST_SPAWN_FAILED;
        h.spawn_step = values[0];
        h.spawn_errno = values[1];
        close_master();
    }
}

static void parse_arguments(int argc, char **argv, int *directory_fd, const char **directory, const char **confine,
                            const char **argv0, int *program_index)
{
    unsigned long long v;
    int have_cols = 0, have_rows = 0, have_scrollback = 0;
    h.window = 1024 * 1024;
    for (int i = 1; i < argc; i++) {
        const char *option = argv[i];
        if (strcmp(option, "--") == 0) {
            if (i + 1 >= argc) {
                usage("no program follows --");
            }
            *program_index = i + 1;
            break;
        }
        const char *value = i + 1 < argc ? argv[++i] : NULL;
        if (!value) {
            usage("an option lacks its value");
        }
        if (strcmp(option, "--socket") == 0) {
            h.socket_path = value;
        } else if (strcmp(option, "--cols") == 0 && parse_number(value, 65535, &v) && v > 0) {
            h.cols = (unsigned short)v;
            have_cols = 1;
        } else if (strcmp(option, "--rows") == 0 && parse_number(value, 65535, &v) && v > 0) {
            h.rows = (unsigned short)v;
            have_rows = 1;
        } else if (strcmp(option, "--scrollback") == 0 && parse_number(value, 1ULL << 32, &v)) {
            h.scrollback = v;
            have_scrollback = 1;
        } else if (strcmp(option, "--window") == 0 && parse_number(value, 1ULL << 32, &v) && v >= MIN_WINDOW) {
            h.window = v;
        } else if (strcmp(option, "--cwd") == 0 && value[0] == '/') {
            *directory = value;
        } else if (strcmp(option, "--confine") == 0 && value[0] == '/') {
            *confine = value;
        } else if (strcmp(option, "--cwd-fd") == 0 && parse_number(value, INT_MAX, &v) && v > 2) {
            *directory_fd = (int)v;
        } else if (strcmp(option, "--argv0") == 0) {
            *argv0 = value;
        } else {
            char problem[256];
            snprintf(problem, sizeof problem, "'%s %s' is not a valid option (sizes are positive integers, "
                     "--window at least 262144, directories absolute, --cwd-fd above 2)", option, value);
            usage(problem);
        }
    }
    if (!h.socket_path || !have_cols || !have_rows || !have_scrollback || !*program_index) {
        usage("--socket, --cols, --rows, --scrollback and -- PROGRAM are required");
    }
    if (*directory && *directory_fd >= 0) {
        usage("--cwd and --cwd-fd exclude each other");
    }
    if (*confine && !*directory) {
        usage("--confine needs --cwd");
    }
    if (argv[*program_index][0] != '/') {
        usage("PROGRAM must be an absolute path");
    }
}

int main(int argc, char **argv)
{
    h.listen_fd = h.client_fd = h.master_fd = h.signal_fd = -1;
    int directory_fd = -1, program_index = 0;
    const char *directory = NULL, *confine = NULL, *argv0 = NULL;
    parse_arguments(argc, argv, &directory_fd, &directory, &confine, &argv0, &program_index);
    if (directory_fd >= 0 && fcntl(directory_fd, F_SETFD, FD_CLOEXEC) != 0) {
        fail_start(1, "descriptor %d (--cwd-fd) is not open: %s", directory_fd, strerror(errno));
    }
    if (directory) {
        directory_fd = open_directory(directory, confine);
    }

    h.capacity = h.scrollback + h.window;
    h.ring = malloc(h.capacity);
    if (!h.ring) {
        fail_start(1, "could not allocate %llu bytes of output buffer", (unsigned long long)h.capacity);
    }

    // Not in the daemon's session or process group: its end, a Ctrl+C at its terminal, a hangup reach nothing here.
    setsid();
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t handled;
    sigemptyset(&handled);
    sigaddset(&handled, SIGCHLD);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGINT);
    sigprocmask(SIG_BLOCK, &handled, NULL);
    h.signal_fd = signalfd(-1, &handled, SFD_NONBLOCK | SFD_CLOEXEC);
    if (h.signal_fd < 0) {
        fail_start(1, "could not create a signal descriptor: %s", strerror(errno));
    }

    open_terminal();
    listen_socket();
    // The child's argument vector is PROGRAM's slot onwards, with argv[0] replaced by NAME when given.
    const char *program = argv[program_index];
    if (argv0) {
        argv[program_index] = (char *)argv0;
    }
    spawn_child(directory_fd, directory, program, argv + program_index);
    if (h.master_fd >= 0) {
        fcntl(h.master_fd, F_SETFL, fcntl(h.master_fd, F_GETFL) | O_NONBLOCK);
    }

    fputs("ready\n", stdout);
    fflush(stdout);
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
        if (null_fd > 2) {
            close(null_fd);
        }
    }

    for (;;) {
        handle_signals();
        if (h.master_fd >= 0) {
            read_master();
        }
        if (h.state != ST_RUNNING && !h.drained && h.quiet_since_ms && now_ms() - h.quiet_since_ms >= DRAIN_QUIET_MS) {
            close_master();
        }
        flush_input();
        read_client();
        flush_client();

        struct pollfd fds[4];
        int count = 0;
        fds[count++] = (struct pollfd){ .fd = h.signal_fd, .events = POLLIN };
        fds[count++] = (struct pollfd){ .fd = h.listen_fd, .events = POLLIN };
        int master_slot = -1, client_slot = -1;
        if (h.master_fd >= 0) {
            short events = (read_allowance() > 0 ? POLLIN : 0) | (h.input_done < h.input_len ? POLLOUT : 0);
            if (events) {
                master_slot = count;
                fds[count++] = (struct pollfd){ .fd = h.master_fd, .events = events };
            }
        }
        if (h.client_fd >= 0) {
            short events = (frame_in_flight() ? POLLOUT : 0) | (client_readable() ? POLLIN : 0);
            client_slot = count;
            fds[count++] = (struct pollfd){ .fd = h.client_fd, .events = events };
        }
        // After the exit, wake to end the drain once the master has been quiet long enough.
        int timeout = -1;
        if (h.state != ST_RUNNING && !h.drained) {
            timeout = h.quiet_since_ms ? (int)(DRAIN_QUIET_MS - (now_ms() - h.quiet_since_ms)) : DRAIN_QUIET_MS;
            if (timeout < 0) {
                timeout = 0;
            }
        }
        if (poll(fds, (nfds_t)count, timeout) < 0 && errno != EINTR) {
            continue;
        }
        if (fds[1].revents & POLLIN) {
            accept_client();
        }
        if (client_slot >= 0 && (fds[client_slot].revents & (POLLHUP | POLLERR))
            && !(fds[client_slot].revents & POLLIN)) {
            drop_client();
        }
        (void)master_slot;
    }
}
