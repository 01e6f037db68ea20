/* fs.h - files from tasks without blocking the loop (libuv's uv_fs), and file
 * watching.
 *
 * Each call runs its syscall on the loop's default executor (a thread) and
 * suspends the calling task until it is done, the timeout passes (-1: none)
 * or the task is cancelled. A call that times out or is cancelled returns at
 * once and leaks nothing: the job finishes on its thread unobserved and is
 * cleaned up there (an fd opened too late is closed, a listing freed). Buffers
 * are copied to and from the job, so the caller's memory is never touched
 * after the call returned. What a left-behind job did still happened, though:
 * a cancelled write, rename or unlink may have taken effect, and a cancelled
 * read or write may have moved the fd's file position (pread/pwrite do not).
 * Calls outside a task return -EPERM. Errors are negative errno values.
 *
 * Watching (inotify, Linux; -ENOSYS elsewhere): a loom_fs_watch reports
 * changes to a file or to the entries of a directory, either to a callback
 * (a watcher, libuv's uv_fs_event) or to a task waiting in
 * loom_fs_watch_next(). */
#ifndef LOOM_REACTOR_FS_H
#define LOOM_REACTOR_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "loom/reactor/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* One read or write moves at most this much (longer ones are short, as a
 * read(2) may be): the job copies through a buffer of this size at most. */
#define LOOM_FS_IO_MAX (16 << 20)
/* loom_fs_scandir refuses directories with more entries (-E2BIG). */
#define LOOM_FS_SCANDIR_MAX (1 << 20)

/* --- files (all suspend) --- */

/* open(2) with O_CLOEXEC added. Returns the fd (owned by the caller: close it
 * with close(2) or loom_fs_close) or -errno. */
int loom_fs_open(const char *path, int flags, mode_t mode, int64_t timeout_ns);
/* close(2) on the executor (a close may flush to a slow disk or NFS). 0 or
 * -errno; the fd is closed even when the call is cancelled. */
int loom_fs_close(int fd, int64_t timeout_ns);
/* read(2) / write(2) at the file position: bytes (0 at end of file) or -errno. */
ssize_t loom_fs_read(int fd, void *buf, size_t len, int64_t timeout_ns);
ssize_t loom_fs_write(int fd, const void *buf, size_t len, int64_t timeout_ns);
/* pread(2) / pwrite(2) at offset. */
ssize_t loom_fs_pread(int fd, void *buf, size_t len, off_t offset, int64_t timeout_ns);
ssize_t loom_fs_pwrite(int fd, const void *buf, size_t len, off_t offset, int64_t timeout_ns);
/* fsync(2) / fdatasync(2). */
int loom_fs_fsync(int fd, int64_t timeout_ns);
int loom_fs_fdatasync(int fd, int64_t timeout_ns);
/* stat(2) / lstat(2) / fstat(2) into *st. */
int loom_fs_stat(const char *path, struct stat *st, int64_t timeout_ns);
int loom_fs_lstat(const char *path, struct stat *st, int64_t timeout_ns);
int loom_fs_fstat(int fd, struct stat *st, int64_t timeout_ns);
/* rename(2), unlink(2), mkdir(2), rmdir(2). */
int loom_fs_rename(const char *from, const char *to, int64_t timeout_ns);
int loom_fs_unlink(const char *path, int64_t timeout_ns);
int loom_fs_mkdir(const char *path, mode_t mode, int64_t timeout_ns);
int loom_fs_rmdir(const char *path, int64_t timeout_ns);
/* The entry names of a directory (without "." and ".."), sorted by strcmp.
 * *names is owned: free it with loom_fs_scandir_free(*names, *count). Returns
 * the count, -E2BIG (more than LOOM_FS_SCANDIR_MAX), or -errno. */
int loom_fs_scandir(const char *path, char ***names, size_t *count, int64_t timeout_ns);
/* Free the names loom_fs_scandir returned. */
void loom_fs_scandir_free(char **names, size_t count);

/* --- watching --- */

/* What happened (bits of loom_fs_event.events). */
enum loom_fs_events {
    LOOM_FS_CHANGE = 1,   /* contents or attributes changed */
    LOOM_FS_RENAME = 2,   /* an entry appeared, went away or was renamed */
    LOOM_FS_GONE = 4,     /* the watched path itself was removed or moved: no more events */
    LOOM_FS_OVERFLOW = 8, /* the kernel's queue overflowed: events were lost, rescan */
};

/* One inotify event, as a watch delivers it. */
struct loom_fs_event {
    unsigned events; /* loom_fs_events bits */
    char name[256];  /* the entry in a watched directory; "" for the path itself */
};

struct loom_fs_watch;

/* A watch's callback: one event, on the loop. */
typedef void (*loom_fs_watch_cb)(struct loom_fs_watch *w, const struct loom_fs_event *ev,
                                 void *arg);

/* Watch path (a file, or a directory and its entries, not recursively).
 * Returns 0 and an owned watch in *out (loom_fs_watch_close), -ENOENT,
 * -ENOSPC (the inotify watch limit), -EMFILE, -ENOSYS (no inotify), -ENOMEM.
 * Never suspends. */
int loom_fs_watch_open(struct loom_loop *loop, const char *path, struct loom_fs_watch **out);

/* Deliver events to cb(w, ev, arg) on the loop (a watcher): 0, or -EBUSY while
 * a task waits in loom_fs_watch_next. cb may close the watch. Stop with
 * loom_fs_watch_stop (0 when it was not started). */
int loom_fs_watch_start(struct loom_fs_watch *w, loom_fs_watch_cb cb, void *arg);
int loom_fs_watch_stop(struct loom_fs_watch *w);

/* Wait for the next event into *ev. 0, -ETIMEDOUT, -ECANCELED, -EBADF (closed
 * meanwhile), -EBUSY (a callback is started or another task waits), -EPERM.
 * After LOOM_FS_GONE it returns -ENOENT. Events that came while nobody waited
 * are kept by the kernel (up to its queue limit, then LOOM_FS_OVERFLOW).
 * Suspends. */
int loom_fs_watch_next(struct loom_fs_watch *w, struct loom_fs_event *ev, int64_t timeout_ns);

/* Stop watching and free (a waiting task gets -EBADF; the memory outlives it).
 * NULL is ignored. Never suspends. */
void loom_fs_watch_close(struct loom_fs_watch *w);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
