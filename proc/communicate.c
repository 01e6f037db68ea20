/* communicate.c - feed stdin while draining stdout and stderr, each in its own
 * task, so that neither side can block the other on a full pipe (the classic
 * deadlock of waiting for a child that is blocked writing to a pipe nobody
 * reads: listing 13.5). */
#include "proc/proc_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reactor/park.h"

enum { CHUNK = 64 * 1024 };

struct reader {
    struct loom_stream *s;
    size_t limit;
    struct loom_bytes b;
};

struct writer {
    struct loom_proc *p;
    const char *data;
    size_t len;
};

/* Write in chunks with drain, so at most ~64 KiB is buffered, then close stdin.
 * EPIPE means the child stopped reading: like asyncio, that is not an error. */
static intptr_t write_task(void *arg)
{
    struct writer *w = arg;
    struct loom_stream *s = w->p->in;
    int rc = 0;
    for (size_t off = 0; off < w->len && rc == 0; off += CHUNK) {
        size_t n = w->len - off < CHUNK ? w->len - off : CHUNK;
        rc = loom_stream_write(s, w->data + off, n);
        if (rc == 0)
            rc = loom_stream_drain(s, -1);
    }
    if (rc == 0)
        rc = loom_stream_flush(s, -1);
    if (rc == -ECANCELED)
        return rc;
    if (rc == -EBADF) /* closed under us (loom_proc_close): s is gone, touch it no more */
        return rc;
    w->p->in = NULL;
    loom_stream_close(s);
    return rc == -EPIPE || rc == -ECONNRESET ? 0 : rc;
}

static intptr_t read_task(void *arg)
{
    struct reader *r = arg;
    size_t cap = 0;
    for (;;) {
        if (r->b.len == cap) {
            if (cap >= r->limit)
                return LOOM_ELIMIT;
            size_t ncap = cap ? cap * 2 : CHUNK;
            ncap = ncap > r->limit ? r->limit : ncap;
            void *nb = realloc(r->b.data, ncap + 1);
            if (!nb)
                return -ENOMEM;
            r->b.data = nb;
            cap = ncap;
        }
        ssize_t n = loom_stream_read_some(r->s, (char *)r->b.data + r->b.len, cap - r->b.len, -1);
        if (n == LOOM_EOF)
            break;
        if (n < 0)
            return n;
        r->b.len += (size_t)n;
    }
    if (r->b.data)
        ((char *)r->b.data)[r->b.len] = '\0'; /* handy for text; not counted */
    return 0;
}

/* Wait for the n tasks; on timeout or cancellation cancel them and wait for them. */
static int run_all(struct loom_task **t, size_t n, int64_t deadline, struct loom_loop *loop)
{
    int64_t left = deadline < 0 ? -1 : deadline - loom_loop_now(loop);
    int rc = loom_wait(t, n, LOOM_ALL_COMPLETED, left < 0 && deadline >= 0 ? 0 : left);
    int err = rc < 0 ? rc : ((size_t)rc < n ? -ETIMEDOUT : 0);
    for (size_t i = 0; i < n; i++) {
        if (err)
            loom_task_cancel(t[i]);
        intptr_t r = loom_task_join(t[i]);
        if (r < 0 && err == 0)
            err = (int)r;
    }
    return err;
}

int loom_proc_communicate(struct loom_proc *p, const void *input, size_t len,
                          struct loom_bytes *out, struct loom_bytes *err, int64_t timeout_ns)
{
    if (!p->_child)
        return -EINVAL;
    int64_t deadline = loom_deadline(p->_loop, timeout_ns);
    struct writer w = {p, input, len};
    struct reader r[2] = {{p->out, p->_limit, {0}}, {p->err, p->_limit, {0}}};
    struct loom_task *t[3];
    size_t n = 0;
    int rc = 0;
    if (p->in && !(t[n++] = loom_spawn(write_task, &w, "communicate-stdin")))
        rc = -ENOMEM, n--;
    for (int i = 0; i < 2 && rc == 0; i++)
        if (r[i].s && !(t[n++] = loom_spawn(read_task, &r[i], "communicate-read")))
            rc = -ENOMEM, n--;
    int rr = run_all(t, n, deadline, p->_loop);
    rc = rc ? rc : rr;
    if (rc == 0)
        rc = p->_child ? loom__child_wait(p->_child, deadline, NULL) : -EBADF; /* closed */
    for (int i = 0; i < 2; i++) {
        struct loom_bytes *dst = i ? err : out;
        if (rc == 0 && dst)
            *dst = r[i].b;
        else
            free(r[i].b.data);
    }
    return rc;
}
