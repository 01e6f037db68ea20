/* listing_3_10.c - failure isolation and graceful shutdown (listing 3.10).
 *
 * Each client has its own echo task, so an error in one ("boom\r\n" plays a
 * network error) is logged and closes only that connection. SIGINT or SIGTERM
 * stops the accept loop (its task is cancelled), then every echo task still
 * running gets up to 2 s (scaled) to finish before wait_for cancels it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "demo.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "reactor/task.h"

#define MAX_CLIENTS 256

static const char usage[] =
    "usage: listing_3_10 [--host ADDR] [--port N]\n"
    "Echo server on 127.0.0.1:8000 (--host ADDR, --port N; port 0 picks a free port;\n"
    "\"listening on ADDR:PORT\" goes to stderr). A client sending \"boom\\r\\n\" fails only\n"
    "its own task. SIGINT/SIGTERM: stop accepting, give each echo task up to 2 s (scaled),\n"
    "cancel the rest, exit 0.\n";

static struct loom_task *echo_tasks[MAX_CLIENTS];
static int n_echo;

/* The book keeps every task it ever made; here a full table lets go of the
 * finished ones, so a server that had MAX_CLIENTS clients in its life goes on
 * serving (at most MAX_CLIENTS at once). */
static void forget_finished(void)
{
    int kept = 0;
    for (int i = 0; i < n_echo; i++) {
        if (loom_task_done(echo_tasks[i]))
            loom_task_release(echo_tasks[i]);
        else
            echo_tasks[kept++] = echo_tasks[i];
    }
    n_echo = kept;
}

static intptr_t echo(void *arg)
{
    struct loom_stream *s = arg;
    char buf[1024];
    ssize_t n;
    while ((n = loom_stream_read_some(s, buf, sizeof buf, -1)) > 0) {
        printf("got data!\n");
        if (n == 6 && memcmp(buf, "boom\r\n", 6) == 0) {
            fprintf(stderr, "ERROR: echo task: Unexpected network error\n"); /* logging */
            n = -ECONNABORTED;
            break;
        }
        int rc = loom_stream_write(s, buf, (size_t)n);
        if (rc == 0)
            rc = loom_stream_drain(s, -1);
        if (rc < 0) {
            n = rc;
            break;
        }
    }
    loom_stream_close(s); /* finally: connection.close() */
    return n == LOOM_EOF ? 0 : n;
}

static intptr_t connection_listener(void *arg)
{
    struct loom_listener *l = arg;
    for (;;) {
        struct loom_stream *s;
        int rc = loom_listener_accept_stream(l, -1, &s);
        if (rc < 0)
            return rc; /* -ECANCELED on shutdown */
        char peer[64] = "?";
        loom_stream_peername(s, peer, sizeof peer);
        printf("Got a connection from %s\n", peer);
        if (n_echo == MAX_CLIENTS)
            forget_finished();
        struct loom_task *t = n_echo < MAX_CLIENTS ? loom_spawn(echo, s, "echo") : NULL;
        if (t)
            echo_tasks[n_echo++] = t;
        else
            loom_stream_close(s);
    }
}

/* shutdown(): the book raises GracefulExit out of the loop; here the signal
 * callback cancels the listener task, which ends main's wait. */
static void on_signal(struct loom_signal *sig, int signum)
{
    printf("Got %s, shutting down.\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
    loom_task_cancel(sig->data);
}

/* close_echo_tasks(): every task gets at most 2 s more. The book waits 2 s
 * for each in turn, so N silent clients would hold the exit for 2N s; here the
 * 2 s run for all of them at once. */
static void close_echo_tasks(void)
{
    struct loom_loop *loop = loom_loop_current();
    int64_t deadline = loom_loop_now(loop) + demo_sec(2);
    for (int i = 0; i < n_echo; i++) {
        int64_t left = deadline - loom_loop_now(loop);
        intptr_t rc = loom_wait_for(echo_tasks[i], left > 0 ? left : 0);
        if (rc == -ETIMEDOUT)
            printf("Echo task %d timed out after 2 s and was cancelled.\n", i + 1);
        else
            printf("Echo task %d finished: %s\n", i + 1, rc < 0 ? loom_errname((int)rc) : "ok");
    }
}

static intptr_t main_task(void *arg)
{
    struct loom_listener l;
    struct loom_loop *loop = loom_loop_current();
    const char *host = demo_arg_str("--host", "127.0.0.1");
    DEMO_CHECK(loom_tcp_listen(loop, &l, host, (int)demo_arg_long("--port", 8000), 0, 0));
    fprintf(stderr, "listening on %s:%d\n", host, loom_listener_port(&l));
    struct loom_task *listener = loom_spawn(connection_listener, &l, "listener");
    struct loom_signal sigs[2];
    for (int i = 0; i < 2; i++) {
        loom_signal_init(loop, &sigs[i], on_signal);
        sigs[i].data = listener;
        DEMO_CHECK(loom_signal_start(&sigs[i], i ? SIGTERM : SIGINT));
    }
    intptr_t rc = loom_task_join(listener);
    for (int i = 0; i < 2; i++)
        loom_signal_stop(&sigs[i]);
    loom_listener_close(&l);
    printf("Listener stopped (%s); closing %d echo task(s).\n", loom_errname((int)rc), n_echo);
    close_echo_tasks();
    printf("Shutdown complete.\n");
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
