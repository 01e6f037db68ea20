/* listing_8_12.c - an echo server that greets and counts its users (listing 8.12).
 *
 * start_server() runs the handler in a task per connection with a stream for
 * it. The shared server state is a list of the connected streams: a newcomer
 * gets "Welcome! Users online: N!", everybody hears "New user connected!", lines
 * are echoed to their sender, and at EOF the others hear "Client disconnected.
 * Users left online: N!". SIGINT/SIGTERM shut the server down gracefully. */
#include <stdio.h>
#include <string.h>

#include "demo.h"
#include "net/server.h"
#include "net/stream.h"
#include "reactor/task.h"

#define MAX_USERS 1024
#define SLOW_CLIENT_BYTES (256 * 1024) /* a client this far behind is skipped */

static const char usage[] =
    "usage: listing_8_12 [--host ADDR] [--port N]\n"
    "Echo server on 127.0.0.1:8000 (--host ADDR, --port N; port 0 picks a free port;\n"
    "\"listening on ADDR:PORT\" goes to stderr) that welcomes each user with the number\n"
    "online and tells everyone when users come and go. SIGINT/SIGTERM: graceful exit.\n";

/* ServerState: the streams of the users online (borrowed from their handlers). */
static struct loom_stream *writers[MAX_USERS];
static size_t nwriters;

static void remove_writer(struct loom_stream *s)
{
    for (size_t i = 0; i < nwriters; i++)
        if (writers[i] == s)
            writers[i] = writers[--nwriters];
}

/* _notify_all(): writes never suspend, so the list cannot change under us.
 * The book drains every writer in turn; only a stream's own task may drain it
 * here, so a client that does not read is skipped once far behind instead. */
static void notify_all(const char *msg)
{
    for (size_t i = 0; i < nwriters; i++)
        if (loom_stream_write_buffered(writers[i]) < SLOW_CLIENT_BYTES &&
            loom_stream_write(writers[i], msg, strlen(msg)) < 0)
            fprintf(stderr, "ERROR: Could not write to client.\n");
}

/* add_client() + _on_connect() + _echo(). */
static intptr_t add_client(struct loom_stream *s, void *arg)
{
    char line[4096];
    ssize_t n;
    if (nwriters == MAX_USERS)
        return 0;
    writers[nwriters++] = s;
    snprintf(line, sizeof line, "Welcome! Users online: %zu!\n", nwriters);
    loom_stream_write(s, line, strlen(line));
    n = loom_stream_drain(s, -1);
    notify_all("New user connected!\n");
    while (n == 0 && (n = loom_stream_readline(s, line, sizeof line, -1)) > 0) {
        n = loom_stream_write(s, line, (size_t)n);
        if (n == 0)
            n = loom_stream_drain(s, -1);
    }
    remove_writer(s);
    if (n == LOOM_EOF) {
        snprintf(line, sizeof line, "Client disconnected. Users left online: %zu!\n", nwriters);
        notify_all(line);
        return 0;
    }
    fprintf(stderr, "ERROR: Error reading from client: %s\n", loom_strerror((int)n));
    return n;
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
        .handle_signals = true,
        .on_listening = on_listening,
    };
    struct loom_server *srv;
    DEMO_CHECK(loom_server_start(loom_loop_current(), &opt, add_client, NULL, &srv));
    int rc = loom_server_serve_forever(srv); /* until SIGINT/SIGTERM */
    loom_server_free(srv);
    printf("Server stopped.\n");
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
