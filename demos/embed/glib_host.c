/* glib_host.c - loom inside a GLib main loop, as a GSource.
 *
 * The source hands GLib loom's backend fd (readable when loom has I/O to
 * process) and, in prepare(), loom's timeout; dispatch() runs one
 * non-blocking loom iteration. GLib sleeps until either has something, so
 * there is no tick. loom serves the upper-casing line server of poll_host.c;
 * GLib watches stdin: "stats" prints how often loom was dispatched, "quit"
 * (or EOF) shuts the server down, then the GLib loop quits and loom's loop is
 * freed. */
#include <ctype.h>
#include <glib-unix.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/server.h"
#include "net/stream.h"
#include "reactor/loop.h"
#include "reactor/task.h"

struct loom_source {
    GSource base;
    struct loom_loop *loop;
    gpointer fd_tag;
    gboolean stopping; /* quit GLib once loom has nothing left */
    GMainLoop *main;
    unsigned long dispatches;
};

static gboolean src_prepare(GSource *base, gint *timeout)
{
    struct loom_source *s = (struct loom_source *)base;
    *timeout = loom_loop_backend_timeout(s->loop); /* ms, rounded up; -1: none */
    return *timeout == 0;
}

static gboolean src_check(GSource *base)
{
    struct loom_source *s = (struct loom_source *)base;
    return (g_source_query_unix_fd(base, s->fd_tag) & G_IO_IN) ||
           loom_loop_backend_timeout(s->loop) == 0;
}

static gboolean src_dispatch(GSource *base, GSourceFunc cb, gpointer data)
{
    struct loom_source *s = (struct loom_source *)base;
    s->dispatches++;
    int alive = loom_loop_run(s->loop, LOOM_RUN_NOWAIT);
    if (alive < 0 || (s->stopping && alive == 0))
        g_main_loop_quit(s->main);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs loom_source_funcs = {src_prepare, src_check, src_dispatch, NULL, NULL, NULL};

static intptr_t upper(struct loom_stream *st, void *arg)
{
    char line[1024];
    ssize_t n;
    while ((n = loom_stream_readline(st, line, sizeof(line), LOOM_SEC(60))) > 0) {
        for (ssize_t i = 0; i < n; i++)
            line[i] = (char)toupper((unsigned char)line[i]);
        if (loom_stream_write(st, line, (size_t)n) < 0)
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

static intptr_t shutdown_task(void *arg)
{
    loom_server_shutdown(arg, LOOM_SEC(1));
    loom_server_free(arg);
    return 0;
}

static struct loom_server *srv;

static gboolean on_stdin(gint fd, GIOCondition cond, gpointer data)
{
    struct loom_source *s = data;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    if (n > 0) {
        buf[n] = 0;
        if (strstr(buf, "stats"))
            printf("dispatches %lu\n", s->dispatches);
        fflush(stdout);
        if (!strstr(buf, "quit"))
            return G_SOURCE_CONTINUE;
    }
    s->stopping = TRUE; /* the task is ready at once, so loom is dispatched next */
    loom_task_spawn(s->loop, shutdown_task, srv, NULL, NULL);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    struct loom_loop *loop;
    struct loom_server_options opt = {.port = argc > 1 ? atoi(argv[1]) : 0,
                                      .on_listening = listening};
    int rc = loom_loop_new(&loop, NULL);
    if (rc == 0 && (rc = loom_loop_backend_fd(loop)) >= 0)
        rc = loom_server_start(loop, &opt, upper, NULL, &srv);
    if (rc < 0) {
        fprintf(stderr, "glib_host: %s\n", loom_strerror(rc));
        return 1;
    }
    GMainLoop *main_loop = g_main_loop_new(NULL, FALSE);
    GSource *base = g_source_new(&loom_source_funcs, sizeof(struct loom_source));
    struct loom_source *s = (struct loom_source *)base;
    s->loop = loop;
    s->main = main_loop;
    s->fd_tag = g_source_add_unix_fd(base, loom_loop_backend_fd(loop), G_IO_IN);
    g_source_attach(base, NULL);
    g_unix_fd_add(0, G_IO_IN | G_IO_HUP, on_stdin, s);
    g_main_loop_run(main_loop);
    g_source_destroy(base);
    g_source_unref(base);
    g_main_loop_unref(main_loop);
    rc = loom_loop_free(loop);
    printf("bye (loom_loop_free: %s)\n", rc == 0 ? "ok" : loom_strerror(rc));
    return rc == 0 ? 0 : 1;
}
