/* loom-chat - the chat server of listing 8.13, done right.
 *
 * Protocol (lines end in "\n"): a client first sends "CONNECT <name>" and gets
 * "Welcome! Users connected: N!"; everyone gets "<name> connected!". Every
 * later line goes to all as "<name>: <line>". At EOF, after --idle-timeout
 * seconds of silence, or when dropped, everyone left gets "<name> has left the
 * chat" and the user is removed (the book forgets to remove them).
 *
 * Flow control (net/broadcast.h): a reader that is slow holds back the sender
 * (its handler stops reading the sender's socket) instead of being dropped; a
 * client that takes no byte for --stall-timeout seconds while messages wait for
 * it is dropped. Memory per client stays under about 2 x (--max-queue + 3 KiB)
 * of queue plus the kernel's socket buffers (sized to --max-queue).
 *
 * Hostile input: names must be valid UTF-8, 1-32 characters, without spaces,
 * control or invisible formatting characters. Lines must be valid UTF-8 (else
 * refused, with a word to the sender) of at most 1024 bytes (else refused; the
 * user stays); control characters in them (C0 including CR and NUL, DEL, C1, so
 * every escape sequence) are shown as visible symbols (U+2400 block / U+FFFD)
 * rather than reaching other terminals. No CONNECT within --handshake-timeout:
 * disconnected. More than --max-clients connections: told so and closed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/opts.h"
#include "net/broadcast.h"
#include "net/server.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "net/utf8.h"
#include "reactor/list.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: loom-chat [--host ADDR] [--port N] [--idle-timeout SEC] [--stall-timeout SEC]\n"
    "                 [--handshake-timeout SEC] [--max-clients N] [--max-queue BYTES]\n"
    "                 [--backend NAME] [--grace SEC]\n"
    "A chat room. Join with loom-chat-client, or nc HOST PORT and type CONNECT <name>.\n"
    "Prints \"listening on HOST:PORT\" once it accepts.\n"
    "  --host ADDR              address to listen on (default 127.0.0.1)\n"
    "  --port N                 port (default 8000; 0 picks a free one)\n"
    "  --idle-timeout SEC       remove a user silent this long (default 60; 0: never)\n"
    "  --stall-timeout SEC      drop a user who reads nothing this long while messages\n"
    "                           wait for them (default 10)\n"
    "  --handshake-timeout SEC  close a connection without CONNECT after this (default 10)\n"
    "  --max-clients N          connections at once, joining ones included (default 1000)\n"
    "  --max-queue BYTES        per user: senders wait while more than this is unsent\n"
    "                           (default 65536)\n"
    "  --backend NAME           epoll, poll, kqueue or io_uring (default: $LOOM_BACKEND or\n"
    "                           the best)\n"
    "  --grace SEC              on SIGINT/SIGTERM, time given to finish (default 2)\n"
    "SIGINT/SIGTERM: stop accepting, say goodbye, exit 0.";

#define NAME_MAX_CHARS 32
#define NAME_MAX_BYTES (4 * NAME_MAX_CHARS)
#define LINE_MAX_LEN 1024
/* A relayed line: name, ": ", the sanitised text (3 bytes per control byte at worst), "\n". */
#define MSG_MAX (NAME_MAX_BYTES + 2 + LOOM_UTF8_SANITIZE_MAX(LINE_MAX_LEN) + 1)

struct user {
    struct loom_list node; /* room.users */
    struct loom_broadcast_member m;
    struct loom_stream *s;
    struct loom_task *task;
    char name[NAME_MAX_BYTES + 1];
    bool dropped;
};

static struct {
    struct loom_broadcast b;
    struct loom_list users;
    size_t count; /* users in the room */
    size_t conns; /* connections, joining ones included */
    size_t max_clients;
    size_t max_queue;
    int64_t handshake_ns;
} room;

static void on_drop(struct loom_broadcast_member *m, int reason, const char *why, void *arg)
{
    struct user *u = m->data;
    char peer[64] = "?";
    loom_stream_peername(u->s, peer, sizeof peer);
    if (reason == -ETIMEDOUT) /* a write error is a plain disconnect: the reader sees it too */
        fprintf(stderr, "loom-chat: dropped %s (%s): %s\n", u->name, peer, why);
    u->dropped = true;
    loom_task_cancel(u->task);
}

static int say_all(const char *msg, size_t len)
{
    return loom_broadcast_send(&room.b, NULL, msg, len, -1);
}

static int say_to(struct user *u, const char *msg)
{
    return loom_broadcast_send_to(&u->m, msg, strlen(msg), -1);
}

static bool name_taken(const char *name)
{
    for (struct loom_list *it = room.users.next; it != &room.users; it = it->next)
        if (!strcmp(loom_list_entry(it, struct user, node)->name, name))
            return true;
    return false;
}

/* Zero-width and direction-changing characters (U+200B-200F, U+202A-202E,
 * U+2060-206F, U+FEFF): invisible, or able to make a name look like another. */
static bool invisible_at(const unsigned char *p, size_t left)
{
    if (left >= 3 && p[0] == 0xE2 && p[1] == 0x80)
        return (p[2] >= 0x8B && p[2] <= 0x8F) || (p[2] >= 0xAA && p[2] <= 0xAE);
    if (left >= 3 && p[0] == 0xE2 && p[1] == 0x81)
        return p[2] >= 0xA0 && p[2] <= 0xAF;
    return left >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF;
}

/* A name: valid UTF-8, 1..32 characters, nothing invisible or controlling. */
static bool name_ok(const char *name)
{
    size_t len = strlen(name), chars = 0;
    if (!len || len > NAME_MAX_BYTES || !loom_utf8_valid(name, len))
        return false;
    const unsigned char *p = (const unsigned char *)name;
    for (size_t i = 0; i < len; i++) {
        unsigned c = p[i];
        if (c <= 0x20 || c == 0x7f || (c == 0xC2 && p[i + 1] <= 0xA0) /* C1, NBSP */ ||
            invisible_at(p + i, len - i))
            return false;
        chars += (c & 0xC0) != 0x80;
    }
    return chars <= NAME_MAX_CHARS;
}

/* Strip the line end ("\n", "\r\n"); returns the text's length. */
static size_t chomp(char *line, size_t n)
{
    if (n && line[n - 1] == '\n')
        n--;
    if (n && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    return n;
}

/* "CONNECT <name>\n" within the handshake timeout -> 0 with the name, or a
 * negative code after telling why. */
static int handshake(struct loom_stream *s, struct user *u)
{
    char line[NAME_MAX_BYTES + 16];
    ssize_t n = loom_stream_readline(s, line, sizeof line, room.handshake_ns);
    const char *m = NULL;
    if (n == -ETIMEDOUT)
        m = "Timed out waiting for CONNECT <name>\n";
    else if (n == LOOM_ELIMIT)
        m = "Expected: CONNECT <name> (1-32 characters, no spaces or control characters)\n";
    if (m) {
        loom_stream_write(s, m, strlen(m));
        return n == LOOM_ELIMIT ? -EPROTO : (int)n;
    }
    if (n < 0)
        return (int)n;
    size_t len = chomp(line, (size_t)n);
    const char *name = line + 8;
    if (strncmp(line, "CONNECT ", 8) || strlen(line) != len || !name_ok(name)) {
        m = "Expected: CONNECT <name> (1-32 characters, no spaces or control characters)\n";
        loom_stream_write(s, m, strlen(m));
        return -EPROTO;
    }
    if (name_taken(name)) {
        loom_stream_write(s, "Name taken\n", 11);
        return -EEXIST;
    }
    snprintf(u->name, sizeof u->name, "%.*s", NAME_MAX_BYTES, name); /* name_ok bounds it */
    return 0;
}

/* After LOOM_ELIMIT: throw away the rest of the too-long line. The first
 * cap - 1 buffered bytes hold no newline (that is what ELIMIT says). */
static int skip_long_line(struct loom_stream *s, char *buf, size_t cap)
{
    for (;;) {
        ssize_t n = loom_stream_readline(s, buf, cap, -1);
        if (n != LOOM_ELIMIT)
            return n < 0 ? (int)n : 0;
        n = loom_stream_readexactly(s, buf, cap - 1, -1);
        if (n < 0)
            return (int)n;
    }
}

/* Relay one received line (without its end) as "<name>: <text>". */
static int relay(struct user *u, const char *line, size_t len)
{
    if (!loom_utf8_valid(line, len))
        return say_to(u, "Not sent: the line is not valid UTF-8\n");
    char msg[MSG_MAX]; /* on this task's stack: a waiting send still points to it */
    size_t n = (size_t)snprintf(msg, sizeof msg, "%s: ", u->name);
    n += loom_utf8_sanitize(msg + n, sizeof msg - n - 1, line, len, LOOM_UTF8_ALLOW_TAB);
    msg[n++] = '\n';
    return say_all(msg, n);
}

/* Relay u's lines until EOF, the idle timeout or a drop. */
static int chat(struct user *u)
{
    char line[LINE_MAX_LEN + 3]; /* text, "\r\n", NUL */
    for (unsigned i = 1;; i++) {
        ssize_t n = loom_stream_readline(u->s, line, sizeof line, -1);
        int rc = 0;
        if (n == LOOM_ELIMIT) {
            rc = skip_long_line(u->s, line, sizeof line);
            if (rc == 0)
                rc = say_to(u, "Not sent: the line is longer than 1024 bytes\n");
        } else if (n >= 0) {
            rc = relay(u, line, chomp(line, (size_t)n));
        } else {
            return (int)n;
        }
        if (rc < 0)
            return rc;
        /* A client whose input is always buffered would never suspend while
         * the room has room: let the others in now and then. */
        if (i % 16 == 0 && (rc = loom_yield()) < 0)
            return rc;
    }
}

static void greet(struct user *u)
{
    char msg[NAME_MAX_BYTES + 64];
    snprintf(msg, sizeof msg, "Welcome! Users connected: %zu!\n", room.count);
    say_to(u, msg);
    snprintf(msg, sizeof msg, "%s connected!\n", u->name);
    say_all(msg, strlen(msg));
}

static intptr_t serve_user(struct loom_stream *s)
{
    struct user u = {.s = s, .task = loom_task_current(), .m.data = &u};
    loom_list_init(&u.node);
    int rc = handshake(s, &u);
    if (rc < 0) {
        loom_stream_flush(s, LOOM_SEC(1));
        return 0; /* refused with a reason, or gone: no failure to report */
    }
    rc = loom_broadcast_join(&room.b, &u.m, s, NULL, NULL);
    if (rc < 0)
        return rc;
    loom_list_push_back(&room.users, &u.node);
    room.count++;
    greet(&u);
    rc = chat(&u);
    loom_broadcast_leave(&u.m);
    loom_list_remove(&u.node);
    room.count--;
    char msg[NAME_MAX_BYTES + 32];
    snprintf(msg, sizeof msg, "%s has left the chat\n", u.name);
    /* Cancelled (dropped, or shutdown past its grace): tell whoever has room
     * now rather than wait on a stuck member. */
    loom_broadcast_send(&room.b, NULL, msg, strlen(msg), rc == -ECANCELED ? 0 : -1);
    if (!u.dropped)
        loom_stream_flush(s, LOOM_SEC(1)); /* best effort: say what is pending */
    return rc;
}

static intptr_t client(struct loom_stream *s, void *arg)
{
    /* Bound the kernel's share of the queue too. */
    loom_socket_set_buffers(loom_stream_fd(s), (int)room.max_queue, 0);
    if (room.conns >= room.max_clients) {
        char m[80];
        int n = snprintf(m, sizeof m, "Server full (%zu connections); try again later\n",
                         room.max_clients);
        loom_stream_write(s, m, (size_t)n);
        loom_stream_flush(s, LOOM_SEC(1));
        return 0; /* refused, not failed */
    }
    room.conns++;
    intptr_t rc = serve_user(s);
    room.conns--;
    return rc;
}

static void on_listening(struct loom_server *srv, void *arg)
{
    char name[128];
    if (loom_server_name(srv, name, sizeof name) == 0)
        printf("listening on %s\n", name);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    opts_init(argc, argv, usage);
    loom_list_init(&room.users);
    room.max_queue = (size_t)opts_long("--max-queue", 65536, 4096, 64 << 20);
    room.max_clients = (size_t)opts_long("--max-clients", 1000, 1, 1000000);
    room.handshake_ns = opts_seconds("--handshake-timeout", 10, 0.001, 86400);
    struct loom_broadcast_options bo = {
        .high_water = room.max_queue,
        .low_water = room.max_queue / 4,
        .stall_timeout_ns = opts_seconds("--stall-timeout", 10, 0.001, 86400),
        .on_drop = on_drop,
    };
    loom_broadcast_init(&room.b, &bo);
    struct loom_server_options opt = {
        .host = opts_host("--host", "127.0.0.1"),
        .port = opts_port("--port", 8000, true),
        .idle_timeout_ns = opts_seconds("--idle-timeout", 60, 0, 86400 * 365),
        .grace_ns = opts_seconds("--grace", 2, 0, 3600),
        /* Past the cap, connections are answered "Server full" and closed; this
         * bounds the fds used for that answer too (accepting pauses beyond). */
        .max_connections = room.max_clients + 64,
        .handle_signals = true,
        .on_listening = on_listening,
    };
    if (opt.grace_ns == 0)
        opt.grace_ns = 1; /* 0 means "the default" to the server: --grace 0 is no grace */
    /* Connection tasks use the loop's default stack, which is cached for reuse:
     * 64 KiB is plenty for a handler, and only the touched pages cost memory. */
    const char *backend = opts_str("--backend", NULL);
    if (backend && strcmp(backend, "epoll") && strcmp(backend, "poll") &&
        strcmp(backend, "kqueue") && strcmp(backend, "io_uring"))
        opts_fail("--backend: '%s' is not one of epoll, poll, kqueue, io_uring", backend);
    struct loom_loop_options lo = {.backend = backend, .stack_size = 64 * 1024};
    int rc = loom_server_run(&opt, &lo, 1, client, NULL);
    loom_broadcast_close(&room.b);
    if (rc < 0) {
        fprintf(stderr, "loom-chat: %s\n", loom_strerror(rc));
        return 1;
    }
    return 0;
}
