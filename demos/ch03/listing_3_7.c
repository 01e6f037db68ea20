/* listing_3_7.c - an echo server on a raw selector loop (listing 3.7).
 *
 * The first use of loom: only its callback layer (reactor/loop.h), no tasks.
 * Each socket gets an I/O watcher and the loop sleeps in epoll/poll/kqueue until
 * one is readable, so an idle server costs ~0 CPU. A 1 s timer, restarted on
 * every event, plays the selector's timeout and prints "No events yet.". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo.h"
#include "reactor/loop.h"

struct server {
    struct loom_loop *loop;
    struct loom_io listener;
    struct loom_timer idle, deadline; /* select() timeout; --seconds */
    struct loom_signal sigint, sigterm;
    struct loom_io *conns[256];
    int nconns;
};
static struct server S;

static const char usage[] =
    "usage: listing_3_7 [--host ADDR] [--port N] [--seconds S]\n"
    "Listens on 127.0.0.1:8000 (--host ADDR, --port N; port 0 picks a free port). Once\n"
    "listening it prints \"listening on ADDR:PORT\" on stderr.\n"
    "Selector echo server on loom's I/O watchers; prints \"No events yet.\" after each\n"
    "second (scaled) without events. Runs S seconds (default: until SIGINT/SIGTERM), then prints\n"
    "wall and CPU time: an idle selector uses ~0 CPU.\n";

static void drop(struct loom_io *io)
{
    for (int i = 0; i < S.nconns; i++)
        if (S.conns[i] == io)
            S.conns[i] = S.conns[--S.nconns];
    loom_io_close(io); /* forget the watcher before closing its fd */
    close(io->fd);
    free(io);
}

static void on_client(struct loom_io *io, unsigned revents)
{
    char buf[1024], shown[1024];
    loom_timer_start(&S.idle, demo_sec(1));
    ssize_t n = recv(io->fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return; /* spurious wake-up: the watcher stays armed */
    if (n <= 0) {
        puts("Connection closed.");
        drop(io);
        return;
    }
    for (ssize_t i = 0; i < n; i++) { /* a client's escape sequences stay off our terminal */
        unsigned char ch = (unsigned char)buf[i];
        bool ctl = (ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\n') || ch == 0x7f;
        shown[i] = ctl ? '?' : (char)ch;
    }
    printf("Received data: %.*s%s", (int)n, shown, buf[n - 1] == '\n' ? "" : "\n");
    send(io->fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void on_accept(struct loom_io *io, unsigned revents)
{
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    loom_timer_start(&S.idle, demo_sec(1));
    int fd = accept4(io->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return; /* EAGAIN: another wake-up will come */
    struct loom_io *c = malloc(sizeof *c);
    if (!c || S.nconns == 256 || loom_io_init(S.loop, c, fd, on_client) < 0) {
        free(c);
        close(fd);
        return;
    }
    char ip[INET_ADDRSTRLEN];
    printf("Connection from ('%s', %d)\n", inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip),
           ntohs(peer.sin_port));
    S.conns[S.nconns++] = c;
    loom_io_start(c, LOOM_READABLE); /* selector.register(conn, EVENT_READ) */
}

static void on_idle(struct loom_timer *t)
{
    puts("No events yet.");
    loom_timer_start(t, demo_sec(1));
}

/* Unregister everything: with nothing left alive, loom_loop_run() returns. */
static void shutdown_all(void)
{
    while (S.nconns)
        drop(S.conns[0]);
    loom_io_close(&S.listener);
    close(S.listener.fd);
    loom_timer_stop(&S.idle);
    loom_timer_stop(&S.deadline);
    loom_signal_stop(&S.sigint);
    loom_signal_stop(&S.sigterm);
}
static void on_deadline(struct loom_timer *t) { shutdown_all(); }
static void on_signal(struct loom_signal *s, int signum) { shutdown_all(); }

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    const char *host = demo_arg_str("--host", "127.0.0.1");
    double seconds = atof(demo_arg_str("--seconds", "0"));
    int port, fd = demo_listen(host, (int)demo_arg_long("--port", 8000), &port);
    DEMO_CHECK(fd);
    fprintf(stderr, "listening on %s:%d\n", host, port);
    struct loom_loop *loop;
    DEMO_CHECK(loom_loop_new(&loop, NULL));
    S.loop = loop;
    loom_io_init(loop, &S.listener, fd, on_accept);
    loom_io_start(&S.listener, LOOM_READABLE); /* selector.register(server, EVENT_READ) */
    loom_timer_init(loop, &S.idle, on_idle);
    loom_timer_start(&S.idle, demo_sec(1));
    loom_timer_init(loop, &S.deadline, on_deadline);
    if (seconds > 0)
        loom_timer_start(&S.deadline, LOOM_SEC(seconds));
    loom_signal_init(loop, &S.sigint, on_signal);
    loom_signal_init(loop, &S.sigterm, on_signal);
    DEMO_CHECK(loom_signal_start(&S.sigint, SIGINT));
    DEMO_CHECK(loom_signal_start(&S.sigterm, SIGTERM));
    double t0 = demo_now(), cpu0 = demo_thread_cpu();
    loom_loop_run(loop, LOOM_RUN_DEFAULT); /* until nothing is registered any more */
    double wall = demo_now() - t0, cpu = demo_thread_cpu() - cpu0;
    printf("Wall time: %.2f s, CPU time: %.3f s (%.1f%% of wall)\n", wall, cpu,
           wall > 0 ? 100 * cpu / wall : 0);
    DEMO_CHECK(loom_loop_free(loop));
    return 0;
}
