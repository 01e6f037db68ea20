/* listing_3_5.c - a non-blocking server with no readiness handling (listing 3.5).
 *
 * The listening socket is switched to O_NONBLOCK (Python's setblocking(False)).
 * Now accept() never waits: with no client queued it fails at once with EAGAIN
 * (Python's BlockingIOError), and since nothing handles that, the program dies
 * right away. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_3_5 [--host ADDR] [--port N]\n"
    "Listens on 127.0.0.1:8000 (--host ADDR, --port N; port 0 picks a free port). Once\n"
    "listening it prints \"listening on ADDR:PORT\" on stderr.\n"
    "The socket is non-blocking and accept() is called once: with no client waiting it\n"
    "fails with EAGAIN; the error is printed and the program exits with status 1.\n";

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    const char *host = demo_arg_str("--host", "127.0.0.1");
    int port = 0, server = demo_listen(host, (int)demo_arg_long("--port", 8000), &port);
    DEMO_CHECK(server);
    fprintf(stderr, "listening on %s:%d\n", host, port);
    fcntl(server, F_SETFL, fcntl(server, F_GETFL) | O_NONBLOCK); /* setblocking(False) */

    int conn = accept(server, NULL, NULL); /* returns immediately */
    if (conn < 0) {
        int err = errno;
        printf("accept() failed at once: BlockingIOError: [Errno %d] %s (%s)\n", err, strerror(err),
               err == EAGAIN ? "EAGAIN" : "unexpected");
        close(server);
        return 1; /* unhandled, like the uncaught exception in the book */
    }
    printf("a client was already waiting (fd %d)\n", conn);
    close(conn);
    close(server);
    return 0;
}
