/* listing_8_13.c - a chat server (listing 8.13).
 *
 * A client sends "CONNECT <name>", gets "Welcome! Users connected: N!", and
 * everyone hears "<name> connected!". Each line it sends goes to all as
 * "<name>: <line>". A read waits at most 60 s (scaled): a silent user is removed
 * and disconnected. The book's quirk is kept on purpose: at EOF everyone hears
 * "<name> has left the chat", but the user is NOT removed, so the next
 * newcomer's count still includes them - until a write to their dead socket
 * fails. (loom-chat is this server done right.)
 *
 * Writes never wait (the book drains each writer in turn, so one user who does
 * not read stalls the room): a user more than 256 KiB behind is removed as if
 * its socket had failed, which bounds the memory a user who never reads costs.
 * Names go to this server's own output with control characters shown as '?'. */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "demo.h"
#include "net/server.h"
#include "net/stream.h"
#include "reactor/task.h"

#define MAX_USERS 256
#define SLOW_USER_BYTES (256 * 1024) /* a user this far behind is removed */

static const char usage[] =
    "usage: listing_8_13 [--host ADDR] [--port N] [--idle SEC]\n"
    "Chat server on 127.0.0.1:8000 (--host ADDR, --port N; port 0 picks a free port;\n"
    "\"listening on ADDR:PORT\" goes to stderr). Protocol: \"CONNECT <name>\", then lines.\n"
    "--idle SEC: drop a user silent that long (default 60, scaled). Users who leave\n"
    "stay counted (the book's quirk). SIGINT/SIGTERM: graceful exit.\n";

struct user {
    char name[64];
    struct loom_stream *s;   /* borrowed from the user's handler */
    struct loom_future gone; /* resolved when removed: the handler may return */
};
static struct user *users[MAX_USERS];
static size_t nusers;
static struct loom_server *server;
static int64_t idle_ns;

/* _remove_user(): unlink; its handler returns and the server closes the stream. */
static void remove_user(struct user *u)
{
    for (size_t i = 0; i < nusers; i++)
        if (users[i] == u) {
            users[i] = users[--nusers];
            loom_stream_stop_reading(u->s); /* wake its handler if it is reading */
            loom_future_set_result(&u->gone, 0);
        }
}

/* A name as this server prints it: control characters (escape sequences
 * included) would drive the operator's terminal. */
static const char *shown(const char *name)
{
    static char buf[64];
    size_t i = 0;
    for (; name[i] && i < sizeof buf - 1; i++) {
        unsigned char ch = (unsigned char)name[i];
        buf[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    buf[i] = '\0';
    return buf;
}

/* _notify_all(): writes never suspend; users whose socket is dead, or who are
 * too far behind, are removed. */
static void notify_all(const char *msg)
{
    for (size_t i = nusers; i-- > 0;) { /* backwards: removal moves the last user to i */
        struct user *u = users[i];
        bool slow = loom_stream_write_buffered(u->s) >= SLOW_USER_BYTES;
        if (!slow && loom_stream_write(u->s, msg, strlen(msg)) == 0)
            continue;
        fprintf(stderr, "ERROR: %s client %s.\n",
                slow ? "Too far behind, disconnecting" : "Could not write to", shown(u->name));
        remove_user(u);
    }
}

/* _listen_for_messages(): returns once the user is gone. */
static intptr_t listen_for_messages(struct user *u)
{
    char line[4096], msg[4200];
    ssize_t n;
    while ((n = loom_stream_readline(u->s, line, sizeof line, idle_ns)) > 0 &&
           !loom_future_done(&u->gone)) {
        snprintf(msg, sizeof msg, "%s: %s%s", u->name, line, line[n - 1] == '\n' ? "" : "\n");
        notify_all(msg);
    }
    if (!loom_future_done(&u->gone) && n != LOOM_EOF) /* idle timeout or error */
        fprintf(stderr, "ERROR: Error reading from client %s: %s\n", shown(u->name),
                loom_strerror((int)n));
    if (loom_future_done(&u->gone) || n != LOOM_EOF) { /* removed without announcement */
        remove_user(u);
        return n == -ECANCELED ? n : 0;
    }
    snprintf(msg, sizeof msg, "%s has left the chat\n", u->name);
    notify_all(msg);
    if (loom_server_stopping(server))
        remove_user(u);
    /* The quirk: still in the table; wait until a failed write or the end removes it. */
    intptr_t rc = loom_future_await(&u->gone, -1);
    remove_user(u);
    return rc;
}

static intptr_t client_connected(struct loom_stream *s, void *arg)
{
    char line[128];
    ssize_t n = loom_stream_readline(s, line, sizeof line, idle_ns); /* CONNECT too */
    struct user u = {.s = s};
    if (n < 0 || sscanf(line, "CONNECT %63s", u.name) != 1 || nusers == MAX_USERS) {
        fprintf(stderr, "ERROR: Got invalid command from client, disconnecting.\n");
        return n < 0 ? n : 0;
    }
    printf("CONNECTED %s\n", shown(u.name));
    loom_future_init(&u.gone);
    users[nusers++] = &u; /* _add_user() */
    snprintf(line, sizeof line, "Welcome! Users connected: %zu!\n", nusers);
    loom_stream_write(s, line, strlen(line));
    snprintf(line, sizeof line, "%s connected!\n", u.name);
    notify_all(line);
    return listen_for_messages(&u);
}

/* Stop: free the lingering users of the quirk, then the graceful shutdown. */
static void on_signal(struct loom_signal *sig, int signum)
{
    for (size_t i = nusers; i-- > 0;)
        if (loom_stream_at_eof(users[i]->s))
            remove_user(users[i]);
    loom_server_stop(server);
}

static void on_listening(struct loom_server *srv, void *arg)
{
    char name[128];
    if (loom_server_name(srv, name, sizeof name) == 0)
        fprintf(stderr, "listening on %s\n", name);
}

static intptr_t main_task(void *arg)
{
    struct loom_server_options opt = {
        .host = demo_arg_str("--host", "127.0.0.1"),
        .port = (int)demo_arg_long("--port", 8000),
        .grace_ns = LOOM_SEC(2),
        .on_listening = on_listening,
    };
    struct loom_signal sigs[2];
    idle_ns = demo_sec(atof(demo_arg_str("--idle", "60")));
    for (int i = 0; i < 2; i++) {
        loom_signal_init(loom_loop_current(), &sigs[i], on_signal);
        DEMO_CHECK(loom_signal_start(&sigs[i], i ? SIGTERM : SIGINT));
    }
    DEMO_CHECK(loom_server_start(loom_loop_current(), &opt, client_connected, NULL, &server));
    int rc = loom_server_serve_forever(server);
    for (int i = 0; i < 2; i++)
        loom_signal_stop(&sigs[i]);
    loom_server_free(server);
    printf("Server stopped.\n");
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
