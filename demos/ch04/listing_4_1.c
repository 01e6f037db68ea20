/* listing_4_1.c - an asynchronous resource scope (listing 4.1).
 *
 * The book's ConnectedSocket is an async context manager: __aenter__ awaits a
 * connection on a listening socket, __aexit__ closes it whatever happened in
 * the body. C has no `async with`, so the scope is a pair of calls around the
 * body, and the body leaves through one exit path (the "finally") on success
 * and on error alike. A client task connects and sends one line, as telnet
 * would in the book. */
#include <stdio.h>
#include <string.h>

#include "demo.h"
#include "net/stream.h"
#include "net/tcp.h"

static const char usage[] =
    "usage: listing_4_1 [--port P]\n"
    "Listens on 127.0.0.1:P (default 8000; 0 picks a free port), accepts one connection\n"
    "inside a scope that closes it on every path, prints the first chunk it sends.\n"
    "A client task of its own connects and sends \"Hello, scope!\".\n";

/* __aenter__: wait for a connection. */
static int connected_socket_enter(struct loom_listener *server, struct loom_stream **conn)
{
    printf("Entering context manager, waiting for connection\n");
    int rc = loom_listener_accept_stream(server, demo_sec(10), conn);
    if (rc == 0)
        printf("Accepted a connection\n");
    return rc;
}

/* __aexit__: runs on every path out of the body. */
static void connected_socket_exit(struct loom_stream *conn)
{
    printf("Exiting context manager\n");
    loom_stream_close(conn);
    printf("Closed connection\n");
}

static intptr_t client(void *arg)
{
    struct loom_stream *s;
    int rc = loom_tcp_connect("127.0.0.1", *(int *)arg, demo_sec(5), &s);
    if (rc < 0)
        return rc;
    loom_stream_write(s, "Hello, scope!\n", 14);
    rc = loom_stream_drain(s, demo_sec(5));
    char buf[16];
    loom_stream_read_some(s, buf, sizeof buf, demo_sec(5)); /* until the server closes */
    loom_stream_close(s);
    return rc;
}

static intptr_t main_task(void *arg)
{
    struct loom_listener server;
    DEMO_CHECK(loom_tcp_listen(loom_loop_current(), &server, "127.0.0.1",
                               (int)demo_arg_long("--port", 8000), 0, 0));
    int port = loom_listener_port(&server);
    struct loom_task *c = loom_spawn(client, &port, "client");

    struct loom_stream *connection;
    int rc = connected_socket_enter(&server, &connection);
    if (rc == 0) {
        char data[1024];
        ssize_t n = loom_stream_read_some(connection, data, sizeof data - 1, demo_sec(5));
        if (n >= 0) {
            data[n] = '\0';
            printf("Received: %s", data);
        }
        rc = n < 0 ? (int)n : 0; /* an error leaves the body by the same exit */
        connected_socket_exit(connection);
    }
    loom_listener_close(&server);
    loom_task_join(c);
    DEMO_CHECK(rc);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
