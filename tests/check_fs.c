/* check_fs.c - file calls on the executor: every call and its errors, a
 * timed-out or cancelled call that leaks nothing and never touches the
 * caller's memory afterwards (a FIFO makes the thread block), and inotify
 * watches as a callback watcher and as a task-level wait. */
#include "harness/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reactor/fs.h"
#include "reactor/task.h"

static char dir[64];

static void mkdir_tmp(void)
{
    snprintf(dir, sizeof dir, "/tmp/loom-fs-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static const char *at(const char *name)
{
    static char buf[4][128];
    static int i;
    char *b = buf[i++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    return b;
}

static intptr_t files_main(void *arg)
{
    mkdir_tmp();
    int fd = loom_fs_open(at("a"), O_RDWR | O_CREAT | O_EXCL, 0600, LOOM_SEC(5));
    ck_assert_int_ge(fd, 0);
    ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_eq(loom_fs_open(at("a"), O_RDWR | O_CREAT | O_EXCL, 0600, -1), -EEXIST);
    ck_assert_int_eq(loom_fs_open(at("missing"), O_RDONLY, 0, -1), -ENOENT);
    ck_assert_int_eq(loom_fs_write(fd, "hello world", 11, -1), 11);
    ck_assert_int_eq(loom_fs_pwrite(fd, "W", 1, 6, -1), 1);
    char buf[32] = {0};
    ck_assert_int_eq(loom_fs_pread(fd, buf, sizeof buf, 0, -1), 11);
    ck_assert_str_eq(buf, "hello World");
    ck_assert_int_eq(loom_fs_read(fd, buf, sizeof buf, -1), 0); /* at the end */
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    ck_assert_int_eq(loom_fs_read(fd, buf, 5, -1), 5);
    ck_assert_int_eq(loom_fs_pread(fd, buf, 1, -1, -1), -EINVAL);
    ck_assert_int_eq(loom_fs_fsync(fd, -1), 0);
    ck_assert_int_eq(loom_fs_fdatasync(fd, -1), 0);
    struct stat st;
    ck_assert_int_eq(loom_fs_fstat(fd, &st, -1), 0);
    ck_assert_int_eq(st.st_size, 11);
    ck_assert_int_eq(loom_fs_close(fd, -1), 0);
    ck_assert_int_eq(loom_fs_close(fd, -1), -EBADF);
    ck_assert_int_eq(loom_fs_read(fd, buf, 1, -1), -EBADF);
    ck_assert_int_eq(loom_fs_stat(at("a"), &st, -1), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(symlink("a", at("link")), 0);
    ck_assert_int_eq(loom_fs_lstat(at("link"), &st, -1), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(loom_fs_rename(at("a"), at("b"), -1), 0);
    ck_assert_int_eq(loom_fs_stat(at("a"), &st, -1), -ENOENT);
    ck_assert_int_eq(loom_fs_mkdir(at("sub"), 0700, -1), 0);
    ck_assert_int_eq(loom_fs_mkdir(at("sub"), 0700, -1), -EEXIST);
    int f2 = loom_fs_open(at("sub/x"), O_WRONLY | O_CREAT, 0600, -1);
    ck_assert_int_ge(f2, 0);
    close(f2);
    ck_assert_int_eq(loom_fs_rmdir(at("sub"), -1), -ENOTEMPTY);
    char **names;
    size_t n;
    ck_assert_int_eq(loom_fs_scandir(dir, &names, &n, -1), 3);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(names[0], "b");
    ck_assert_str_eq(names[1], "link");
    ck_assert_str_eq(names[2], "sub");
    loom_fs_scandir_free(names, n);
    ck_assert_int_eq(loom_fs_scandir(at("b"), &names, &n, -1), -ENOTDIR);
    ck_assert_ptr_null(names);
    ck_assert_int_eq(loom_fs_unlink(at("sub/x"), -1), 0);
    ck_assert_int_eq(loom_fs_scandir(at("sub"), &names, &n, -1), 0);
    loom_fs_scandir_free(names, n);
    ck_assert_int_eq(loom_fs_rmdir(at("sub"), -1), 0);
    ck_assert_int_eq(loom_fs_unlink(at("b"), -1), 0);
    ck_assert_int_eq(loom_fs_unlink(at("b"), -1), -ENOENT);
    ck_assert_int_eq(loom_fs_unlink(at("link"), -1), 0);
    ck_assert_int_eq(loom_fs_rmdir(dir, -1), 0);
    return 0;
}

START_TEST(test_files) { ck_assert_int_eq(test_run_task(files_main, NULL), 0); }
END_TEST

/* A large write and read go through in pieces of at most LOOM_FS_IO_MAX. */
static intptr_t big_main(void *arg)
{
    mkdir_tmp();
    size_t len = LOOM_FS_IO_MAX + 4096;
    char *data = malloc(len), *back = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)(i * 31);
    int fd = loom_fs_open(at("big"), O_RDWR | O_CREAT, 0600, -1);
    ssize_t w = loom_fs_write(fd, data, len, -1);
    ck_assert_int_eq(w, LOOM_FS_IO_MAX);
    ck_assert_int_eq(loom_fs_write(fd, data + w, len - (size_t)w, -1), 4096);
    ck_assert_int_eq(loom_fs_pread(fd, back, len, 0, -1), LOOM_FS_IO_MAX);
    ck_assert_int_eq(loom_fs_pread(fd, back + LOOM_FS_IO_MAX, 4096, LOOM_FS_IO_MAX, -1), 4096);
    ck_assert_int_eq(memcmp(data, back, len), 0);
    ck_assert_int_eq(loom_fs_close(fd, -1), 0);
    ck_assert_int_eq(loom_fs_unlink(at("big"), -1), 0);
    ck_assert_int_eq(loom_fs_rmdir(dir, -1), 0);
    free(data);
    free(back);
    return 0;
}

START_TEST(test_big) { ck_assert_int_eq(test_run_task(big_main, NULL), 0); }
END_TEST

START_TEST(test_outside_task)
{
    struct stat st;
    ck_assert_int_eq(loom_fs_stat("/", &st, -1), -EPERM);
    ck_assert_int_eq(loom_fs_open("/dev/null", O_RDONLY, 0, -1), -EPERM);
    char b[4];
    ck_assert_int_eq(loom_fs_read(0, b, 4, -1), -EPERM);
}
END_TEST

/* --- timeouts and cancellation: the job finishes unobserved, leaking nothing --- */

/* How long a wait for another thread's progress may take on a loaded machine. */
#define WAIT_S 10.0

/* Wait (bounded) until the abandoned job's helper task is gone (its thread
 * finished, and it closed what the job opened), then check the process has
 * want fds. Not the count alone: it is right for a moment before the job's
 * open(2) returns, and one fd too many until the helper closes it. */
static void wait_fds(int want)
{
    struct loom_loop *loop = loom_loop_current();
    for (double t0 = test_now(); loom_task_all(loop, NULL, 0) > 1 && test_now() - t0 < WAIT_S;)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(loom_task_all(loop, NULL, 0), 1);
    ck_assert_int_eq(test_fd_count(), want);
}

/* Open the FIFO's write end once the job's thread is a reader in its open(2):
 * until then (a thread may start late on a loaded machine) a non-blocking
 * open fails with ENXIO, so wait for it, bounded. */
static int open_writer(void)
{
    int w;
    double t0 = test_now();
    while ((w = open(at("fifo"), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0 && errno == ENXIO &&
           test_now() - t0 < WAIT_S)
        loom_sleep(LOOM_MS(1));
    ck_assert_msg(w >= 0, "the thread's open(2) never became a reader: %s", strerror(errno));
    return w;
}

static intptr_t open_fifo(void *arg) { return loom_fs_open(at("fifo"), O_RDONLY, 0, -1); }

static char untouched[16];

static intptr_t read_fifo(void *arg)
{
    int fd = (int)(intptr_t)arg;
    return loom_fs_read(fd, untouched, sizeof untouched, LOOM_MS(30));
}

static intptr_t abandon_main(void *arg)
{
    mkdir_tmp();
    ck_assert_int_eq(mkfifo(at("fifo"), 0600), 0);
    int base = test_fd_count();
    /* open(2) of a FIFO blocks in the thread until a writer comes. */
    double t0 = test_now();
    ck_assert_int_eq(loom_fs_open(at("fifo"), O_RDONLY, 0, LOOM_MS(50)), -ETIMEDOUT);
    ck_assert_msg(test_now() - t0 < 2, "the caller left at its deadline");
    int w = open_writer();
    wait_fds(base + 1); /* only w: the late fd was closed */
    close(w);
    /* Same with a cancellation. */
    struct loom_task *t = loom_spawn(open_fifo, NULL, "opener");
    loom_sleep(LOOM_MS(20));
    loom_task_cancel(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    w = open_writer(); /* the job runs on: the caller's cancellation is not its helper's */
    wait_fds(base + 1);
    /* A read that times out never writes into the caller's buffer later. */
    int r = open(at("fifo"), O_RDONLY | O_CLOEXEC); /* w holds the write end: no block */
    ck_assert_int_ge(r, 0);
    memset(untouched, 'u', sizeof untouched);
    ck_assert_int_eq(loom_task_join(loom_spawn(read_fifo, (void *)(intptr_t)r, "reader")),
                     -ETIMEDOUT);
    ck_assert_int_eq(write(w, "late data", 9), 9);
    close(w); /* the thread's read returns; its helper frees the job */
    for (double t0 = test_now();
         loom_task_all(loom_loop_current(), NULL, 0) > 1 && test_now() - t0 < WAIT_S;)
        loom_sleep(LOOM_MS(1));
    ck_assert_uint_eq(loom_task_all(loom_loop_current(), NULL, 0), 1);
    for (size_t i = 0; i < sizeof untouched; i++)
        ck_assert_int_eq(untouched[i], 'u');
    close(r);
    ck_assert_int_eq(loom_fs_unlink(at("fifo"), -1), 0);
    ck_assert_int_eq(loom_fs_rmdir(dir, -1), 0);
    return 0;
}

START_TEST(test_abandon) { ck_assert_int_eq(test_run_task(abandon_main, NULL), 0); }
END_TEST

/* --- watching --- */

struct seen {
    char log[1024];
    int gone;
    struct loom_fs_watch *w;
    bool close_on_gone;
};

static void on_event(struct loom_fs_watch *w, const struct loom_fs_event *ev, void *arg)
{
    struct seen *s = arg;
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof s->log - n, "%s%s%s%s%s ", ev->name,
             ev->events & LOOM_FS_CHANGE ? ":change" : "",
             ev->events & LOOM_FS_RENAME ? ":rename" : "", ev->events & LOOM_FS_GONE ? ":gone" : "",
             ev->events & LOOM_FS_OVERFLOW ? ":overflow" : "");
    if (ev->events & LOOM_FS_GONE) {
        s->gone++;
        if (s->close_on_gone)
            loom_fs_watch_close(w); /* from inside the callback */
    }
}

static intptr_t watch_cb_main(void *arg)
{
    mkdir_tmp();
    struct loom_loop *loop = loom_loop_current();
    struct seen s = {.close_on_gone = true};
    ck_assert_int_eq(loom_fs_watch_open(loop, at("nope"), &s.w), -ENOENT);
    ck_assert_int_eq(loom_fs_watch_open(loop, dir, &s.w), 0);
    ck_assert_int_eq(loom_fs_watch_start(s.w, on_event, &s), 0);
    struct loom_fs_event ev;
    ck_assert_int_eq(loom_fs_watch_next(s.w, &ev, 0), -EBUSY);
    int fd = loom_fs_open(at("f"), O_WRONLY | O_CREAT, 0600, -1);
    ck_assert_int_eq(loom_fs_write(fd, "x", 1, -1), 1);
    ck_assert_int_eq(loom_fs_close(fd, -1), 0);
    ck_assert_int_eq(loom_fs_rename(at("f"), at("g"), -1), 0);
    ck_assert_int_eq(loom_fs_unlink(at("g"), -1), 0);
    ck_assert_int_eq(loom_fs_rmdir(dir, -1), 0);
    for (int i = 0; i < 2000 && !s.gone; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(s.gone, 1);
    TEST_IN_ORDER(s.log, "f:rename ", "f:change ", "f:rename ", "g:rename ", "g:rename ",
                  ":rename:gone ");
    return 0;
}

START_TEST(test_watch_callback) { ck_assert_int_eq(test_run_task(watch_cb_main, NULL), 0); }
END_TEST

static intptr_t touch_later(void *arg)
{
    loom_sleep(LOOM_MS(20));
    int fd = loom_fs_open(arg, O_WRONLY | O_CREAT | O_APPEND, 0600, -1);
    if (fd < 0)
        return fd;
    loom_fs_write(fd, "y", 1, -1);
    return loom_fs_close(fd, -1);
}

struct next_arg {
    struct loom_fs_watch *w;
    int rc;
};

static intptr_t next_task(void *arg)
{
    struct next_arg *a = arg;
    struct loom_fs_event ev;
    a->rc = loom_fs_watch_next(a->w, &ev, LOOM_SEC(5));
    return 0;
}

static intptr_t watch_task_main(void *arg)
{
    mkdir_tmp();
    struct loom_loop *loop = loom_loop_current();
    int fd = loom_fs_open(at("file"), O_WRONLY | O_CREAT, 0600, -1);
    ck_assert_int_eq(loom_fs_close(fd, -1), 0);
    struct loom_fs_watch *w;
    ck_assert_int_eq(loom_fs_watch_open(loop, at("file"), &w), 0); /* a file, not a dir */
    struct loom_fs_event ev;
    ck_assert_int_eq(loom_fs_watch_next(w, &ev, LOOM_MS(20)), -ETIMEDOUT);
    struct loom_task *t = loom_spawn(touch_later, (void *)at("file"), "toucher");
    ck_assert_int_eq(loom_fs_watch_next(w, &ev, LOOM_SEC(5)), 0);
    ck_assert_uint_eq(ev.events, LOOM_FS_CHANGE);
    ck_assert_str_eq(ev.name, "");
    ck_assert_int_eq(loom_task_join(t), 0);
    /* Events kept while nobody waited; drain them. */
    while (loom_fs_watch_next(w, &ev, 0) == 0)
        ck_assert_uint_eq(ev.events, LOOM_FS_CHANGE);
    /* Busy while a task waits; closed under the waiter: -EBADF. */
    struct next_arg a = {w, 1};
    t = loom_spawn(next_task, &a, "next");
    loom_yield();
    ck_assert_int_eq(loom_fs_watch_next(w, &ev, 0), -EBUSY);
    ck_assert_int_eq(loom_fs_watch_start(w, on_event, NULL), -EBUSY);
    loom_fs_watch_close(w);
    ck_assert_int_eq(loom_task_join(t), 0);
    ck_assert_int_eq(a.rc, -EBADF);
    /* The file goes away: GONE, then -ENOENT. */
    ck_assert_int_eq(loom_fs_watch_open(loop, at("file"), &w), 0);
    ck_assert_int_eq(loom_fs_unlink(at("file"), -1), 0);
    ck_assert_int_eq(loom_fs_watch_next(w, &ev, LOOM_SEC(5)), 0);
    if (ev.events == LOOM_FS_CHANGE) /* the link count (IN_ATTRIB) comes first */
        ck_assert_int_eq(loom_fs_watch_next(w, &ev, LOOM_SEC(5)), 0);
    ck_assert_uint_ne(ev.events & LOOM_FS_GONE, 0);
    ck_assert_int_eq(loom_fs_watch_next(w, &ev, LOOM_SEC(5)), -ENOENT);
    loom_fs_watch_close(w);
    /* Cancelled while waiting. */
    ck_assert_int_eq(loom_fs_watch_open(loop, dir, &w), 0);
    a = (struct next_arg){w, 1};
    t = loom_spawn(next_task, &a, "next");
    loom_yield();
    loom_task_cancel(t);
    loom_task_join(t);
    ck_assert_int_eq(a.rc, -ECANCELED);
    loom_fs_watch_close(w);
    loom_fs_watch_close(NULL);
    ck_assert_int_eq(loom_fs_rmdir(dir, -1), 0);
    return 0;
}

START_TEST(test_watch_task) { ck_assert_int_eq(test_run_task(watch_task_main, NULL), 0); }
END_TEST

int main(void)
{
    Suite *s = suite_create("fs");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"files", test_files},
        {"big", test_big},
        {"outside_task", test_outside_task},
        {"abandon", test_abandon},
        {"watch_callback", test_watch_callback},
        {"watch_task", test_watch_task},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 30);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
