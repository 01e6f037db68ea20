/* listing_11_11.c - an event marks the end of an upload (listing 11.11).
 *
 * FileUpload reads a stream until EOF in a task of its own, then sets an
 * Event; get_contents() waits for that event and returns everything read.
 * Here the "client" is the write end of a pipe fed by a writer task. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "net/stream.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_11_11\n"
    "A writer sends three chunks 0.5 s (scaled) apart through a pipe; FileUpload reads until\n"
    "EOF and sets an event; get_contents() waits for it and prints what arrived.\n";

struct file_upload {
    struct loom_stream *reader;
    struct loom_event finished;
    char contents[4096];
    size_t len;
};

/* The read loop (listen_for_uploads + _accept_upload in the book). */
static intptr_t accept_upload(void *arg)
{
    struct file_upload *u = arg;
    ssize_t n;
    while ((n = loom_stream_read_some(u->reader, u->contents + u->len,
                                      sizeof u->contents - 1 - u->len, -1)) > 0)
        u->len += (size_t)n;
    u->contents[u->len] = '\0';
    loom_event_set(&u->finished);
    return n == LOOM_EOF ? 0 : n;
}

static int get_contents(struct file_upload *u, const char **out)
{
    int rc = loom_event_wait(&u->finished, -1);
    *out = u->contents;
    return rc;
}

static intptr_t writer(void *arg)
{
    struct loom_stream *w = arg;
    static const char *chunks[] = {"first chunk\n", "second chunk\n", "last chunk\n"};
    for (int i = 0; i < 3; i++) {
        printf("Writing %zu bytes\n", strlen(chunks[i]));
        loom_stream_write(w, chunks[i], strlen(chunks[i]));
        int rc = loom_stream_flush(w, -1);
        if (rc == 0)
            rc = loom_sleep(demo_sec(0.5));
        if (rc < 0)
            return rc;
    }
    loom_stream_close(w); /* EOF for the reader */
    return 0;
}

static intptr_t main_task(void *arg)
{
    int fds[2];
    DEMO_CHECK(pipe(fds) == 0 ? 0 : -1);
    struct file_upload upload = {.len = 0};
    struct loom_stream *w;
    DEMO_CHECK(loom_stream_open_fd(loom_loop_current(), fds[0], 0, &upload.reader));
    DEMO_CHECK(loom_stream_open_fd(loom_loop_current(), fds[1], 0, &w));
    loom_event_init(&upload.finished);
    struct loom_task *r = loom_spawn(accept_upload, &upload, "upload");
    struct loom_task *wt = loom_spawn(writer, w, "writer");
    const char *contents;
    double t0 = demo_now();
    DEMO_CHECK(get_contents(&upload, &contents));
    printf("Upload finished after %.2f s, %zu bytes:\n%s", demo_now() - t0, upload.len, contents);
    DEMO_CHECK(loom_task_join(r));
    DEMO_CHECK(loom_task_join(wt));
    loom_stream_close(upload.reader);
    loom_event_close(&upload.finished);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(main_task, NULL);
}
