/* pool_worker.c - the forked worker: blocking reads and writes on its end of a
 * socketpair, one job at a time. It runs on whatever stack fork() left it on
 * (possibly a task's) and leaves only through _exit, so it never returns into
 * the parent's loop state. */
#include "proc/pool_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <dirent.h>

#include "proc/proc_internal.h"
#include "reactor/park.h"

static int io_all(int fd, void *buf, size_t len, bool wr)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = wr ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Close every fd but 0-2 and the socket (moved to 3): the worker must not
 * hold the parent's epoll fd, pidfds or the other workers' sockets. */
static int close_others(int fd)
{
    if (fd != 3) {
        if (dup2(fd, 3) < 0)
            return -1;
        close(fd);
    }
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 4U, ~0U, 0U) == 0)
        return 3;
#endif
    for (int i = 4; i < 65536; i++)
        close(i);
    return 3;
}

static int put_item(char **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (*len + n > *cap) {
        size_t ncap = (*len + n) * 2;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return -ENOMEM;
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}

/* Run fn on each item of a batch; the reply holds status, length, bytes per item. */
static int run_batch(loom_pool_fn fn, const char *in, size_t len, struct loom_bytes *out,
                     void *state)
{
    uint64_t count;
    size_t cap = 0, off = sizeof(count);
    if (len < off)
        return -EINVAL;
    memcpy(&count, in, sizeof(count));
    int rc = put_item((char **)&out->data, &out->len, &cap, &count, sizeof(count));
    for (uint64_t i = 0; i < count && rc == 0; i++) {
        uint64_t n;
        if (len - off < sizeof(n))
            return -EINVAL;
        memcpy(&n, in + off, sizeof(n));
        off += sizeof(n);
        if (len - off < n)
            return -EINVAL;
        struct loom_bytes r = {0};
        int64_t st = fn(in + off, n, &r, state);
        off += n;
        uint64_t rlen = st < 0 ? 0 : r.len;
        rc = put_item((char **)&out->data, &out->len, &cap, &st, sizeof(st));
        if (rc == 0)
            rc = put_item((char **)&out->data, &out->len, &cap, &rlen, sizeof(rlen));
        if (rc == 0 && rlen)
            rc = put_item((char **)&out->data, &out->len, &cap, r.data, rlen);
        free(r.data);
    }
    return rc;
}

static int run_one(int fd, const struct loom__pool_msg *m, void *state)
{
    char *in = m->len ? malloc(m->len) : NULL;
    if (m->len && !in)
        return -1;
    if (io_all(fd, in, m->len, false) < 0) {
        free(in);
        return -1;
    }
    loom_pool_fn fn = (loom_pool_fn)(uintptr_t)m->fn;
    struct loom_bytes out = {0};
    int st = (m->flags & LOOM__POOL_BATCH) ? run_batch(fn, in, m->len, &out, state)
                                           : fn(in, m->len, &out, state);
    free(in);
    fflush(NULL); /* the worker leaves through _exit: print what the job printed */
    struct loom__pool_msg r = {0, st < 0 ? 0 : out.len, 0, st};
    int rc = io_all(fd, &r, sizeof(r), true);
    if (rc == 0 && r.len)
        rc = io_all(fd, out.data, r.len, true);
    free(out.data);
    return rc;
}

void loom__pool_worker_main(int fd, const struct loom_pool_options *opt)
{
    loom__child_reset_signals();
    loom_loop_forget_inherited(); /* the parent's loop is not ours: a job may run its own */
    fd = close_others(fd);
    void *state = NULL;
    if (opt->init && opt->init(opt->init_arg, &state) != 0) {
        fflush(NULL);
        _exit(3);
    }
    fflush(NULL);
    struct loom__pool_msg m;
    while (io_all(fd, &m, sizeof(m), false) == 0) {
        if (m.len > opt->max_message || run_one(fd, &m, state) < 0)
            _exit(4);
    }
    _exit(0);
}
