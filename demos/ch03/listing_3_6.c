/* listing_3_6.c - non-blocking echo server by busy polling (listing 3.6).
 *
 * Every socket is non-blocking and EAGAIN is simply ignored: the loop tries
 * accept() and a recv() on every connection, over and over. Echo works for any
 * number of clients, but the process never sleeps, so it burns a whole CPU even
 * when nobody talks. At exit it prints its CPU time next to the wall time. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo.h"

#define MAX_CONNS 64

static const char usage[] =
    "usage: listing_3_6 [--host ADDR] [--port N] [--seconds S]\n"
    "Listens on 127.0.0.1:8000 (--host ADDR, --port N; port 0 picks a free port). Once\n"
    "listening it prints \"listening on ADDR:PORT\" on stderr.\n"
    "Busy-polling echo server. Runs S seconds (default: until SIGINT/SIGTERM), then\n"
    "prints wall and CPU time: CPU ~= wall, the cost of spinning.\n";

static volatile sig_atomic_t stop;
static void on_signal(int sig) { stop = sig; }

/* One non-blocking attempt at a CRLF message. As in the book, bytes read before
 * an EAGAIN are dropped. Returns 0 when the peer has closed. */
static int try_echo(int conn)
{
    char buf[4096];
    size_t n = 0;
    while ((n < 2 || memcmp(buf + n - 2, "\r\n", 2) != 0) && n + 2 <= sizeof buf) {
        ssize_t r = recv(conn, buf + n, 2, 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1; /* "except BlockingIOError: pass" */
        if (r <= 0)
            return 0;
        demo_print_bytes("I got data: ", buf + n, (size_t)r, "!\n");
        n += (size_t)r;
    }
    demo_print_bytes("All the data is: ", buf, n, "\n");
    send(conn, buf, n, MSG_NOSIGNAL);
    return 1;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    const char *host = demo_arg_str("--host", "127.0.0.1");
    double seconds = atof(demo_arg_str("--seconds", "0"));
    int nconns = 0, conns[MAX_CONNS], port;
    int server = demo_listen(host, (int)demo_arg_long("--port", 8000), &port); /* O_NONBLOCK */
    DEMO_CHECK(server);
    fprintf(stderr, "listening on %s:%d\n", host, port);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    double t0 = demo_now(), cpu0 = demo_thread_cpu();
    while (!stop && (seconds <= 0 || demo_now() - t0 < seconds)) {
        int conn = accept4(server, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (conn >= 0 && nconns < MAX_CONNS) {
            puts("I got a connection!");
            conns[nconns++] = conn;
        } else if (conn >= 0) {
            close(conn);
        }
        for (int i = 0; i < nconns; i++) {
            if (try_echo(conns[i]))
                continue;
            puts("Client disconnected."); /* the book would print b'' forever */
            close(conns[i]);
            conns[i--] = conns[--nconns];
        }
    }
    double wall = demo_now() - t0, cpu = demo_thread_cpu() - cpu0;
    printf("Wall time: %.2f s, CPU time: %.2f s (%.0f%% of wall)\n", wall, cpu,
           wall > 0 ? 100 * cpu / wall : 0);
    for (int i = 0; i < nconns; i++)
        close(conns[i]);
    close(server);
    return 0;
}
