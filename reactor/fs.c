/* fs.c - file calls on the executor, and inotify watches.
 *
 * A job belongs to a small helper task rather than to the caller (as in
 * loom_resolve): the caller parks until the helper is done or its own
 * deadline; if it leaves first it marks the job abandoned and the helper,
 * once the thread finished, undoes what would leak (closes an fd opened too
 * late, frees a listing) and frees the job. The job owns copies of paths and
 * data, so a thread still running never touches the caller's memory. The
 * price is one helper task (a 32 KiB pooled stack) and one copy per call. */
#include "reactor/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reactor/executor.h"
#include "reactor/park.h"

enum fs_op {
    OP_OPEN,
    OP_CLOSE,
    OP_READ,
    OP_WRITE,
    OP_PREAD,
    OP_PWRITE,
    OP_FSYNC,
    OP_FDATASYNC,
    OP_STAT,
    OP_LSTAT,
    OP_FSTAT,
    OP_RENAME,
    OP_UNLINK,
    OP_MKDIR,
    OP_RMDIR,
    OP_SCANDIR,
};

struct fs_job {
    enum fs_op op;
    int fd, flags;
    mode_t mode;
    off_t off;
    char *path, *path2; /* owned copies */
    char *buf;          /* owned data buffer */
    size_t len;
    struct stat st;
    char **names; /* OP_SCANDIR result */
    size_t count;
    intptr_t rc;
    bool abandoned; /* the caller left: the helper cleans up */
};

static intptr_t neg(intptr_t r) { return r < 0 ? -errno : r; }

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static intptr_t do_scandir(struct fs_job *j)
{
    DIR *d = opendir(j->path);
    if (!d)
        return -errno;
    size_t cap = 0;
    intptr_t rc = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (j->count == LOOM_FS_SCANDIR_MAX) {
            rc = -E2BIG;
            break;
        }
        if (j->count == cap) {
            cap = cap ? cap * 2 : 16;
            char **n = realloc(j->names, cap * sizeof(*n));
            if (!n) {
                rc = -ENOMEM;
                break;
            }
            j->names = n;
        }
        if (!(j->names[j->count] = strdup(e->d_name))) {
            rc = -ENOMEM;
            break;
        }
        j->count++;
    }
    if (!rc && errno)
        rc = -errno;
    closedir(d);
    if (rc < 0)
        return rc;
    if (j->count)
        qsort(j->names, j->count, sizeof(*j->names), cmp_names);
    return (intptr_t)j->count;
}

static intptr_t run_job(void *arg)
{
    struct fs_job *j = arg;
    switch (j->op) {
    case OP_OPEN:
        return neg(open(j->path, j->flags | O_CLOEXEC, j->mode));
    case OP_CLOSE:
        return neg(close(j->fd));
    case OP_READ:
        return neg(read(j->fd, j->buf, j->len));
    case OP_WRITE:
        return neg(write(j->fd, j->buf, j->len));
    case OP_PREAD:
        return neg(pread(j->fd, j->buf, j->len, j->off));
    case OP_PWRITE:
        return neg(pwrite(j->fd, j->buf, j->len, j->off));
    case OP_FSYNC:
        return neg(fsync(j->fd));
    case OP_FDATASYNC:
        return neg(fdatasync(j->fd));
    case OP_STAT:
        return neg(stat(j->path, &j->st));
    case OP_LSTAT:
        return neg(lstat(j->path, &j->st));
    case OP_FSTAT:
        return neg(fstat(j->fd, &j->st));
    case OP_RENAME:
        return neg(rename(j->path, j->path2));
    case OP_UNLINK:
        return neg(unlink(j->path));
    case OP_MKDIR:
        return neg(mkdir(j->path, j->mode));
    case OP_RMDIR:
        return neg(rmdir(j->path));
    case OP_SCANDIR:
        return do_scandir(j);
    }
    return -EINVAL;
}

static void job_free(struct fs_job *j)
{
    loom_fs_scandir_free(j->names, j->count);
    free(j->path);
    free(j->path2);
    free(j->buf);
    free(j);
}

static intptr_t helper(void *arg)
{
    struct fs_job *j = arg;
    j->rc = loom_to_thread(run_job, j);
    if (j->abandoned) {
        if (j->op == OP_OPEN && j->rc >= 0)
            close((int)j->rc);
        job_free(j);
    }
    return 0;
}

/* Run j from the current task within timeout_ns. Returns j's rc, or the park
 * error. *left says whether the caller gave up on a running job: then j
 * belongs to the helper (do not touch it); else the caller frees it. */
static intptr_t submit(struct fs_job *j, int64_t timeout_ns, bool *left)
{
    *left = false;
    struct loom_task *self = loom_task_current();
    if (!self)
        return -EPERM;
    struct loom_loop *loop = loom_task_loop(self);
    struct loom_task_options o = {.name = "fs", .stack_size = 32 * 1024};
    struct loom_task *h;
    int rc = loom_task_spawn(loop, helper, j, &o, &h);
    if (rc < 0)
        return rc;
    rc = loom_park_until_done(self, h, loom_deadline(loop, timeout_ns));
    if (rc < 0 && !loom_task_done(h)) {
        j->abandoned = true;
        *left = true;
        loom_task_release(h);
        return rc;
    }
    loom_task_release(h);
    return rc < 0 ? rc : j->rc;
}

static struct fs_job *job_new(enum fs_op op, const char *path, const char *path2)
{
    struct fs_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->op = op;
    j->fd = -1;
    if ((path && !(j->path = strdup(path))) || (path2 && !(j->path2 = strdup(path2)))) {
        job_free(j);
        return NULL;
    }
    return j;
}

/* Run a job whose only output is rc. */
static intptr_t simple(struct fs_job *j, int64_t timeout_ns)
{
    if (!j)
        return -ENOMEM;
    bool left;
    intptr_t rc = submit(j, timeout_ns, &left);
    if (!left)
        job_free(j);
    return rc;
}

int loom_fs_open(const char *path, int flags, mode_t mode, int64_t timeout_ns)
{
    if (!path)
        return -EINVAL;
    struct fs_job *j = job_new(OP_OPEN, path, NULL);
    if (j) {
        j->flags = flags;
        j->mode = mode;
    }
    return (int)simple(j, timeout_ns);
}

static struct fs_job *fd_job(enum fs_op op, int fd)
{
    struct fs_job *j = job_new(op, NULL, NULL);
    if (j)
        j->fd = fd;
    return j;
}

int loom_fs_close(int fd, int64_t timeout_ns)
{
    return (int)simple(fd_job(OP_CLOSE, fd), timeout_ns);
}
int loom_fs_fsync(int fd, int64_t timeout_ns)
{
    return (int)simple(fd_job(OP_FSYNC, fd), timeout_ns);
}

int loom_fs_fdatasync(int fd, int64_t timeout_ns)
{
    return (int)simple(fd_job(OP_FDATASYNC, fd), timeout_ns);
}

static ssize_t rw(enum fs_op op, int fd, void *buf, const void *src, size_t len, off_t off,
                  int64_t timeout_ns)
{
    if (len > LOOM_FS_IO_MAX)
        len = LOOM_FS_IO_MAX;
    if (off < 0)
        return -EINVAL;
    struct fs_job *j = fd_job(op, fd);
    if (!j || (len && !(j->buf = malloc(len)))) {
        free(j);
        return -ENOMEM;
    }
    j->len = len;
    j->off = off;
    if (src && len)
        memcpy(j->buf, src, len);
    bool left;
    intptr_t rc = submit(j, timeout_ns, &left);
    if (left)
        return rc;
    if (buf && rc > 0)
        memcpy(buf, j->buf, (size_t)rc);
    job_free(j);
    return rc;
}

ssize_t loom_fs_read(int fd, void *buf, size_t len, int64_t timeout_ns)
{
    return rw(OP_READ, fd, buf, NULL, len, 0, timeout_ns);
}

ssize_t loom_fs_write(int fd, const void *buf, size_t len, int64_t timeout_ns)
{
    return rw(OP_WRITE, fd, NULL, buf, len, 0, timeout_ns);
}

ssize_t loom_fs_pread(int fd, void *buf, size_t len, off_t offset, int64_t timeout_ns)
{
    return rw(OP_PREAD, fd, buf, NULL, len, offset, timeout_ns);
}

ssize_t loom_fs_pwrite(int fd, const void *buf, size_t len, off_t offset, int64_t timeout_ns)
{
    return rw(OP_PWRITE, fd, NULL, buf, len, offset, timeout_ns);
}

static int stat_job(struct fs_job *j, struct stat *st, int64_t timeout_ns)
{
    if (!j)
        return -ENOMEM;
    bool left;
    intptr_t rc = submit(j, timeout_ns, &left);
    if (left)
        return (int)rc;
    if (rc == 0)
        *st = j->st;
    job_free(j);
    return (int)rc;
}

int loom_fs_stat(const char *path, struct stat *st, int64_t timeout_ns)
{
    return path ? stat_job(job_new(OP_STAT, path, NULL), st, timeout_ns) : -EINVAL;
}

int loom_fs_lstat(const char *path, struct stat *st, int64_t timeout_ns)
{
    return path ? stat_job(job_new(OP_LSTAT, path, NULL), st, timeout_ns) : -EINVAL;
}

int loom_fs_fstat(int fd, struct stat *st, int64_t timeout_ns)
{
    return stat_job(fd_job(OP_FSTAT, fd), st, timeout_ns);
}

int loom_fs_rename(const char *from, const char *to, int64_t timeout_ns)
{
    if (!from || !to)
        return -EINVAL;
    return (int)simple(job_new(OP_RENAME, from, to), timeout_ns);
}

int loom_fs_unlink(const char *path, int64_t timeout_ns)
{
    return path ? (int)simple(job_new(OP_UNLINK, path, NULL), timeout_ns) : -EINVAL;
}

int loom_fs_mkdir(const char *path, mode_t mode, int64_t timeout_ns)
{
    if (!path)
        return -EINVAL;
    struct fs_job *j = job_new(OP_MKDIR, path, NULL);
    if (j)
        j->mode = mode;
    return (int)simple(j, timeout_ns);
}

int loom_fs_rmdir(const char *path, int64_t timeout_ns)
{
    return path ? (int)simple(job_new(OP_RMDIR, path, NULL), timeout_ns) : -EINVAL;
}

int loom_fs_scandir(const char *path, char ***names, size_t *count, int64_t timeout_ns)
{
    if (!path || !names || !count)
        return -EINVAL;
    *names = NULL;
    *count = 0;
    struct fs_job *j = job_new(OP_SCANDIR, path, NULL);
    if (!j)
        return -ENOMEM;
    bool left;
    intptr_t rc = submit(j, timeout_ns, &left);
    if (left)
        return (int)rc;
    if (rc >= 0) {
        *names = j->names;
        *count = j->count;
        j->names = NULL;
        j->count = 0;
    }
    job_free(j);
    return (int)rc;
}

void loom_fs_scandir_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* --- watching ---
 *
 * One inotify instance per watch (simple, and an fd per watch is what libuv's
 * uv_fs_event costs too on most systems). Events are read into a buffer in
 * the watch and handed out one at a time, to the callback or to a task. */

#if defined(__linux__)
#include <sys/inotify.h>

#define WATCH_MASK                                                                                 \
    (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |              \
     IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)

struct loom_fs_watch {
    struct loom_loop *loop;
    int fd;
    struct loom_io io;
    loom_fs_watch_cb cb;
    void *arg;
    struct loom_task *waiter; /* a task in loom_fs_watch_next */
    int inside;               /* tasks waiting and callbacks running: the memory outlives them */
    bool closed, gone;
    size_t pos, end; /* unread events are buf[pos, end) */
    char buf[4096 + sizeof(struct inotify_event) + NAME_MAX + 1]
        __attribute__((aligned(__alignof__(struct inotify_event))));
};

static bool watch_release(struct loom_fs_watch *w)
{
    if (!w->closed)
        return false;
    if (!w->inside)
        free(w);
    return true;
}

static void watch_update(struct loom_fs_watch *w)
{
    if (w->cb || w->waiter)
        loom_io_start(&w->io, LOOM_READABLE);
    else
        loom_io_stop(&w->io, LOOM_READABLE);
}

static unsigned map_mask(uint32_t m)
{
    unsigned e = 0;
    if (m & (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE))
        e |= LOOM_FS_CHANGE;
    if (m & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF))
        e |= LOOM_FS_RENAME;
    if (m & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
        e |= LOOM_FS_GONE;
    if (m & IN_Q_OVERFLOW)
        e |= LOOM_FS_OVERFLOW;
    return e;
}

/* The next event: 0, -EAGAIN (nothing yet), -ENOENT (gone) or a read error. */
static int watch_take(struct loom_fs_watch *w, struct loom_fs_event *ev)
{
    for (;;) {
        if (w->gone)
            return -ENOENT;
        if (w->pos == w->end) {
            ssize_t n = read(w->fd, w->buf, sizeof w->buf);
            if (n < 0)
                return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
            w->pos = 0;
            w->end = (size_t)n;
        }
        struct inotify_event ie;
        memcpy(&ie, w->buf + w->pos, sizeof ie);
        const char *name = w->buf + w->pos + sizeof ie;
        w->pos += sizeof ie + ie.len;
        ev->events = map_mask(ie.mask);
        if (!ev->events)
            continue;
        size_t nl = ie.len ? strnlen(name, ie.len) : 0;
        if (nl >= sizeof ev->name)
            nl = sizeof ev->name - 1;
        memcpy(ev->name, name, nl);
        ev->name[nl] = '\0';
        if (ev->events & LOOM_FS_GONE) {
            /* DELETE_SELF and MOVE_SELF come before IGNORED: report one GONE. */
            w->gone = true;
            w->pos = w->end;
        }
        return 0;
    }
}

static void watch_on_io(struct loom_io *io, unsigned revents)
{
    struct loom_fs_watch *w = io->data;
    if (w->waiter) {
        loom_wake(w->waiter, 0);
        return;
    }
    w->inside++;
    struct loom_fs_event ev;
    for (int i = 0; i < 64 && w->cb && !w->closed && watch_take(w, &ev) == 0; i++)
        w->cb(w, &ev, w->arg);
    w->inside--;
    if (!watch_release(w)) {
        if (w->gone)
            w->cb = NULL;
        watch_update(w);
    }
}

int loom_fs_watch_open(struct loom_loop *loop, const char *path, struct loom_fs_watch **out)
{
    if (!loop || !path || !out)
        return -EINVAL;
    struct loom_fs_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->loop = loop;
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    int rc = w->fd < 0 ? -errno : 0;
    if (!rc && inotify_add_watch(w->fd, path, WATCH_MASK) < 0)
        rc = -errno;
    if (!rc)
        rc = loom_io_init(loop, &w->io, w->fd, watch_on_io);
    if (rc < 0) {
        if (w->fd >= 0)
            close(w->fd);
        free(w);
        return rc;
    }
    w->io.data = w;
    *out = w;
    return 0;
}

int loom_fs_watch_start(struct loom_fs_watch *w, loom_fs_watch_cb cb, void *arg)
{
    if (!w || w->closed || !cb)
        return -EINVAL;
    if (w->waiter)
        return -EBUSY;
    w->cb = cb;
    w->arg = arg;
    watch_update(w);
    return 0;
}

int loom_fs_watch_stop(struct loom_fs_watch *w)
{
    if (!w || w->closed)
        return -EINVAL;
    w->cb = NULL;
    watch_update(w);
    return 0;
}

int loom_fs_watch_next(struct loom_fs_watch *w, struct loom_fs_event *ev, int64_t timeout_ns)
{
    if (!w || w->closed)
        return -EBADF;
    if (w->cb || w->waiter)
        return -EBUSY;
    int64_t deadline = -2;
    for (;;) {
        int rc = watch_take(w, ev);
        if (rc != -EAGAIN)
            return rc;
        if (timeout_ns == 0)
            return -ETIMEDOUT;
        struct loom_task *self = loom_task_current();
        if (!self)
            return -EPERM;
        if (deadline == -2)
            deadline = loom_deadline(w->loop, timeout_ns);
        w->waiter = self;
        w->inside++;
        watch_update(w);
        rc = loom_park(self, deadline);
        w->inside--;
        if (watch_release(w))
            return -EBADF;
        w->waiter = NULL;
        watch_update(w);
        if (rc < 0)
            return rc;
    }
}

void loom_fs_watch_close(struct loom_fs_watch *w)
{
    if (!w || w->closed)
        return;
    w->closed = true;
    if (w->waiter)
        loom_wake(w->waiter, 0);
    loom_io_close(&w->io);
    close(w->fd);
    w->fd = -1;
    watch_release(w);
}

#else /* no inotify */

struct loom_fs_watch {
    int unused;
};

int loom_fs_watch_open(struct loom_loop *loop, const char *path, struct loom_fs_watch **out)
{
    return -ENOSYS;
}
int loom_fs_watch_start(struct loom_fs_watch *w, loom_fs_watch_cb cb, void *arg) { return -ENOSYS; }
int loom_fs_watch_stop(struct loom_fs_watch *w) { return -ENOSYS; }
int loom_fs_watch_next(struct loom_fs_watch *w, struct loom_fs_event *ev, int64_t timeout_ns)
{
    return -ENOSYS;
}
void loom_fs_watch_close(struct loom_fs_watch *w) {}

#endif
