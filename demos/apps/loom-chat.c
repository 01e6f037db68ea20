/* loom-chat - the chat server of listing 8.13, done right.
 *
 * Protocol (lines end in "\n"): a client first sends "CONNECT <name>" and gets
 * "Welcome! Users connected: N!"; everyone gets "<name> connected!". Every
 * later line goes to all as "<name>: <line>". At EOF, after --idle-timeout
 * seconds of silence, or when dropped, everyone left gets "<name> has left the
 * chat" and the user is removed (the book forgets to remove them).
 *
 * A client that stops reading cannot stall the room: writes never wait, and a
 * client whose outgoing queue passes --max-queue bytes is dropped (the socket's
 * kernel send buffer is limited to the same size). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "net/server.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "reactor/list.h"

static const char usage[] =
    "usage: loom-chat [--host ADDR] [--port N] [--idle-timeout SEC] [--max-queue BYTES]\n"
    "                 [--backend NAME] [--grace SEC]\n"
    "A chat room. Join with loom-chat-client, or nc HOST PORT and type CONNECT <name>.\n"
    "Prints \"listening on HOST:PORT\" once it accepts.\n"
    "  --host ADDR          address to listen on (default 127.0.0.1)\n"
    "  --port N             port (default 8000; 0 picks a free one)\n"
    "  --idle-timeout SEC   remove a user silent this long (default 60; 0: never)\n"
    "  --max-queue BYTES    drop a user whose unsent messages exceed this (default 65536)\n"
    "  --backend NAME       epoll, poll or kqueue\n"
    "  --grace SEC          on SIGINT/SIGTERM, time given to finish (default 2)\n"
    "SIGINT/SIGTERM: stop accepting, say goodbye, exit 0.";

#define NAME_MAX_LEN 32
#define LINE_MAX_LEN 1024

struct user {
    struct loom_list node;     /* room.users */
    struct loom_stream *s;
    struct loom_task *task;
    char name[NAME_MAX_LEN + 1];
    bool dropped;
};

static struct {
    struct loom_list users;
    size_t count;
    size_t max_queue;
} room;

/* Queue msg for u; a user over the queue limit is dropped (its task ends). */
static void send_to(struct user *u, const char *msg, size_t len)
{
    if (u->dropped)
        return;
    if (loom_stream_write(u->s, msg, len) < 0 ||
        loom_stream_write_buffered(u->s) > room.max_queue) {
        u->dropped = true;
        loom_task_cancel(u->task);
    }
}

static void broadcast(const char *fmt, const char *a, const char *b)
{
    char msg[LINE_MAX_LEN + NAME_MAX_LEN + 64];
    int n = snprintf(msg, sizeof msg, fmt, a, b);
    size_t len = n < (int)sizeof msg ? (size_t)n : sizeof msg - 1;
    for (struct loom_list *it = room.users.next; it != &room.users; it = it->next)
        send_to(loom_list_entry(it, struct user, node), msg, len);
}

static bool name_taken(const char *name)
{
    for (struct loom_list *it = room.users.next; it != &room.users; it = it->next)
        if (!strcmp(loom_list_entry(it, struct user, node)->name, name))
            return true;
    return false;
}

/* "CONNECT <name>\n" -> 0 with the name, or a negative code after telling why. */
static int handshake(struct loom_stream *s, struct user *u)
{
    char line[128];
    ssize_t n = loom_stream_readline(s, line, sizeof line, -1);
    if (n < 0)
        return (int)n;
    line[strcspn(line, "\r\n")] = '\0';
    const char *name = line + 8;
    if (strncmp(line, "CONNECT ", 8) || !*name || strlen(name) > NAME_MAX_LEN ||
        strpbrk(name, " \t")) {
        const char *m = "Expected: CONNECT <name> (1-32 characters, no spaces)\n";
        loom_stream_write(s, m, strlen(m));
        return -EPROTO;
    }
    if (name_taken(name)) {
        loom_stream_write(s, "Name taken\n", 11);
        return -EEXIST;
    }
    memcpy(u->name, name, strnlen(name, NAME_MAX_LEN)); /* length checked above */
    return 0;
}

/* Relay u's lines until EOF, idle timeout, a too-long line or a drop. */
static int chat(struct user *u)
{
    char line[LINE_MAX_LEN];
    for (;;) {
        ssize_t n = loom_stream_readline(u->s, line, sizeof line, -1);
        if (n == LOOM_ELIMIT)
            send_to(u, "Line too long\n", 14);
        if (n < 0)
            return (int)n;
        line[strcspn(line, "\r\n")] = '\0';
        broadcast("%s: %s\n", u->name, line);
    }
}

static intptr_t client(struct loom_stream *s, void *arg)
{
    struct user u = {.s = s, .task = loom_task_current()};
    loom_list_init(&u.node);
    /* Bound the kernel's share too, so a stalled reader is noticed after ~200 KiB. */
    loom_socket_set_buffers(loom_stream_fd(s), (int)room.max_queue, 0);
    int rc = handshake(s, &u);
    if (rc < 0) {
        loom_stream_flush(s, LOOM_SEC(1));
        return rc;
    }
    loom_list_push_back(&room.users, &u.node);
    room.count++;
    char welcome[64];
    int n = snprintf(welcome, sizeof welcome, "Welcome! Users connected: %zu!\n", room.count);
    send_to(&u, welcome, (size_t)n);
    broadcast("%s connected!%s\n", u.name, "");
    rc = chat(&u);
    loom_list_remove(&u.node);
    room.count--;
    broadcast("%s has left the chat%s\n", u.name, "");
    if (!u.dropped)
        loom_stream_flush(s, LOOM_SEC(1)); /* best effort: say what is pending */
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
    demo_init(argc, argv, usage);
    loom_list_init(&room.users);
    room.max_queue = (size_t)demo_arg_long("--max-queue", 65536);
    struct loom_server_options opt = {
        .host = demo_arg_str("--host", "127.0.0.1"),
        .port = (int)demo_arg_long("--port", 8000),
        .idle_timeout_ns = LOOM_SEC(atof(demo_arg_str("--idle-timeout", "60"))),
        .grace_ns = LOOM_SEC(atof(demo_arg_str("--grace", "2"))),
        .handle_signals = true,
        .on_listening = on_listening,
    };
    /* Connection tasks use the loop's default stack, which is cached for reuse:
     * 64 KiB is plenty for a handler, and only the touched pages cost memory. */
    struct loom_loop_options lo = {.backend = demo_arg_str("--backend", NULL),
                                   .stack_size = 64 * 1024};
    int rc = loom_server_run(&opt, &lo, 1, client, NULL);
    if (rc < 0) {
        fprintf(stderr, "loom-chat: %s\n", loom_strerror(rc));
        return 1;
    }
    return 0;
}
