/* poll_host.c - loom as a guest in someone else's poll() loop.
 *
 * The host owns main(): it polls stdin and loom's backend fd together, with
 * the timeout loom asks for, and lets loom run one non-blocking iteration
 * after each wake-up. There is no tick: an idle host sleeps in poll() until
 * a line arrives on stdin or a client connects. Meanwhile loom serves an
 * upper-casing line server on 127.0.0.1 (port from argv[1], default any).
 *
 * stdin: "stats" prints the host's wake-up count, "quit" (or EOF) shuts the
 * server down gracefully, then the loop is freed and the host exits. */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/server.h"
#include "net/stream.h"
#include "reactor/loop.h"
#include "reactor/task.h"

/* One task per connection: read a line, write it back upper-cased. */
static intptr_t upper(struct loom_stream *s, void *arg)
{
    char line[1024];
    ssize_t n;
    while ((n = loom_stream_readline(s, line, sizeof(line), LOOM_SEC(60))) > 0) {
        for (ssize_t i = 0; i < n; i++)
            line[i] = (char)toupper((unsigned char)line[i]);
        if (loom_stream_write(s, line, (size_t)n) < 0)
            break;
    }
    return 0;
}

static void listening(struct loom_server *srv, void *arg)
{
    char name[64];
    loom_server_name(srv, name, sizeof(name));
    printf("listening on %s\n", name);
    fflush(stdout);
}

/* Shutting down suspends (it drains connections), so it runs as a task. */
static intptr_t shutdown_task(void *arg)
{
    struct loom_server *srv = arg;
    loom_server_shutdown(srv, LOOM_SEC(1));
    loom_server_free(srv);
    return 0;
}

/* The host's own work: whole lines from stdin (read(), not stdio, so no line
 * waits in a buffer poll() cannot see). Returns true on "quit" or EOF. */
static bool host_input(unsigned long wakeups)
{
    static char buf[512];
    static size_t len;
    ssize_t n = read(0, buf + len, sizeof(buf) - 1 - len);
    if (n <= 0)
        return n == 0 || errno != EINTR;
    len += (size_t)n;
    char *nl;
    while ((nl = memchr(buf, '\n', len))) {
        *nl = 0;
        if (strcmp(buf, "quit") == 0)
            return true;
        if (strcmp(buf, "stats") == 0)
            printf("wakeups %lu\n", wakeups);
        else
            printf("host: %s\n", buf);
        fflush(stdout);
        len -= (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, len);
    }
    if (len == sizeof(buf) - 1)
        len = 0; /* an overlong line: drop it */
    return false;
}

int main(int argc, char **argv)
{
    struct loom_loop *loop;
    struct loom_server *srv;
    struct loom_server_options opt = {.port = argc > 1 ? atoi(argv[1]) : 0,
                                      .on_listening = listening};
    int rc = loom_loop_new(&loop, NULL);
    if (rc == 0 && (rc = loom_loop_backend_fd(loop)) == -ENOTSUP)
        fprintf(stderr, "the %s backend has no fd to poll; use LOOM_BACKEND=epoll\n",
                loom_loop_backend(loop));
    /* The loop is not running: host code passes it explicitly. */
    if (rc < 0 || (rc = loom_server_start(loop, &opt, upper, NULL, &srv)) < 0) {
        fprintf(stderr, "poll_host: %s\n", loom_strerror(rc));
        return 1;
    }
    struct pollfd fds[2] = {{.fd = 0, .events = POLLIN},
                            {.fd = loom_loop_backend_fd(loop), .events = POLLIN}};
    unsigned long wakeups = 0;
    bool stopping = false;
    for (;;) {
        /* Ask after every iteration: what loom did may have scheduled more. */
        int timeout = loom_loop_backend_timeout(loop);
        if (poll(fds, 2, timeout) < 0 && errno != EINTR)
            break;
        wakeups++;
        if (!stopping && (fds[0].revents & (POLLIN | POLLHUP)))
            stopping = host_input(wakeups);
        if (stopping && fds[0].fd >= 0) {
            fds[0].fd = -1; /* poll() skips negative fds */
            loom_task_spawn(loop, shutdown_task, srv, NULL, NULL);
        }
        rc = loom_loop_run(loop, LOOM_RUN_NOWAIT);
        if (rc < 0 || (stopping && rc == 0))
            break; /* nothing left alive after the shutdown */
    }
    rc = loom_loop_free(loop);
    printf("bye (loom_loop_free: %s)\n", rc == 0 ? "ok" : loom_strerror(rc));
    return rc == 0 ? 0 : 1;
}
