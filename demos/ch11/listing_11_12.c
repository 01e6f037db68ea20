/* listing_11_12.c - an upload server built on FileUpload (listing 11.12).
 *
 * Every connection gets a FileUpload (listing 11.11): one task reads until
 * EOF and sets an event, another waits on that event and prints what was
 * uploaded. An upload is held in memory, so it is capped (MAX_UPLOAD), and
 * printed with its control characters shown as symbols: a client's escape
 * sequences do not drive our terminal. Try: cat file | nc 127.0.0.1 9000. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"
#include "net/server.h"
#include "net/stream.h"
#include "net/utf8.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_11_12 [--port P] [--once]\n"
    "Upload server on 127.0.0.1:P (default 9000; 0 picks one; \"listening on ADDR:PORT\" goes to\n"
    "stderr). Prints each upload once the client closes its side (one over 16 MiB is\n"
    "refused and the connection closed). --once: stop after one.\n";

#define MAX_UPLOAD (16u << 20)

struct file_upload {
    struct loom_stream *reader;
    struct loom_event finished;
    int rc; /* 0: uploaded whole, else why not */
    char *contents;
    size_t len, cap;
};

static struct loom_server *srv;

static int read_upload(struct file_upload *u)
{
    ssize_t n = 0;
    do {
        u->len += (size_t)n;
        if (u->cap - u->len < 1024) {
            if (u->cap >= MAX_UPLOAD)
                return -EFBIG;
            char *more = realloc(u->contents, u->cap + 65536);
            if (!more)
                return -ENOMEM;
            u->contents = more;
            u->cap += 65536;
        }
    } while ((n = loom_stream_read_some(u->reader, u->contents + u->len, u->cap - u->len - 1, -1)) >
             0);
    u->contents[u->len] = '\0';
    return n == LOOM_EOF ? 0 : (int)n;
}

static intptr_t accept_upload(void *arg)
{
    struct file_upload *u = arg;
    u->rc = read_upload(u);
    loom_event_set(&u->finished); /* also on failure: the dump task must not wait on */
    return u->rc;
}

/* FileServer.dump_contents_on_complete */
static intptr_t dump_contents_on_complete(void *arg)
{
    struct file_upload *u = arg;
    int rc = loom_event_wait(&u->finished, -1);
    if (rc == 0 && u->rc == 0) {
        char *safe = malloc(LOOM_UTF8_SANITIZE_MAX(u->len));
        if (!safe)
            return -ENOMEM;
        loom_utf8_sanitize(safe, LOOM_UTF8_SANITIZE_MAX(u->len), u->contents, u->len,
                           LOOM_UTF8_ALLOW_TAB | LOOM_UTF8_ALLOW_LF);
        printf("%s", safe);
        free(safe);
    } else if (rc == 0) {
        fprintf(stderr, "upload failed: %s\n", loom_strerror(u->rc));
    }
    fflush(stdout);
    return rc;
}

/* FileServer.client_connected: the server closes the stream when this returns. */
static intptr_t client_connected(struct loom_stream *s, void *arg)
{
    struct file_upload u = {.reader = s};
    loom_event_init(&u.finished);
    struct loom_task *listen = loom_spawn(accept_upload, &u, "upload");
    struct loom_task *dump = loom_spawn(dump_contents_on_complete, &u, "dump");
    intptr_t rc = loom_task_join(dump);
    if (rc < 0)
        loom_task_cancel(listen);
    loom_task_join(listen);
    loom_event_close(&u.finished);
    free(u.contents);
    if (demo_arg_flag("--once"))
        loom_server_stop(srv);
    return rc;
}

static void on_listening(struct loom_server *s, void *arg)
{
    char name[64];
    loom_server_name(s, name, sizeof name);
    fprintf(stderr, "listening on %s\n", name);
}

static intptr_t main_task(void *arg)
{
    struct loom_server_options opt = {.port = (int)demo_arg_long("--port", 9000),
                                      .handle_signals = true,
                                      .on_listening = on_listening};
    DEMO_CHECK(loom_server_start(loom_loop_current(), &opt, client_connected, NULL, &srv));
    int rc = loom_server_serve_forever(srv);
    loom_server_free(srv);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
