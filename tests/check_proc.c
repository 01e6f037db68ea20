/* check_proc.c - subprocesses (spawn, stdio modes, wait, signals, pipes,
 * communicate, reaping with and without pidfd), the process pool and shared
 * memory. Children are checked for in /proc: none may be left as a zombie. */
#include "harness/harness.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/stream.h"
#include "proc/proc.h"
#include "reactor/task.h"
#include "sync/sync.h"

/* --- helpers --- */

/* Children of this process that are zombies (state Z in /proc/<pid>/stat). */
static int zombie_children(void)
{
    DIR *d = opendir("/proc");
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int n = 0;
    pid_t me = getpid();
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *rp = strrchr(buf, ')');
        char state;
        int ppid;
        if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == me && state == 'Z')
            n++;
    }
    closedir(d);
    return n;
}

static int spawn_sh(struct loom_proc *p, const char *script, enum loom_proc_stdio out)
{
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    struct loom_proc_options o = {.argv = argv, .out = out};
    return loom_proc_spawn(NULL, p, &o);
}

/* --- spawn and wait --- */

static intptr_t exit_codes_main(void *arg)
{
    struct loom_proc p;
    int rc;
    ck_assert_int_eq(spawn_sh(&p, "exit 3", LOOM_PROC_INHERIT), 0);
    ck_assert_int_gt(p.pid, 0);
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, 3);
    ck_assert(loom_proc_returncode(&p, &rc) && rc == 3);
    ck_assert_int_eq(loom_proc_kill(&p), -ESRCH);
    loom_proc_close(&p);

    ck_assert_int_eq(spawn_sh(&p, "kill -TERM $$; sleep 5", LOOM_PROC_INHERIT), 0);
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, -SIGTERM);
    loom_proc_close(&p);

    const char *bad[] = {"/nonexistent/program", NULL};
    struct loom_proc_options o = {.argv = bad};
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), -ENOENT);
    const char *none[] = {NULL};
    o.argv = none;
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), -EINVAL);
    return 0;
}

START_TEST(test_exit_codes)
{
    ck_assert_int_eq(test_run_task_opt(NULL, exit_codes_main, NULL), 0);
    ck_assert_int_eq(zombie_children(), 0);
}
END_TEST

static intptr_t terminate_main(void *arg)
{
    struct loom_proc p;
    int rc = 0;
    ck_assert_int_eq(spawn_sh(&p, "exec sleep 30", LOOM_PROC_INHERIT), 0);
    double t0 = test_now();
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_MS(100), &rc), -ETIMEDOUT);
    ck_assert(!loom_proc_returncode(&p, NULL));
    ck_assert_int_eq(loom_proc_terminate(&p), 0);
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, -15);
    ck_assert(test_now() - t0 < 5);
    loom_proc_close(&p);
    return 0;
}

START_TEST(test_terminate) { ck_assert_int_eq(test_run_task_opt(NULL, terminate_main, NULL), 0); }
END_TEST

/* --- stdio modes, env, cwd, fd inheritance --- */

static intptr_t read_all(struct loom_stream *s, char *buf, size_t cap)
{
    ssize_t n = loom_stream_read(s, buf, cap - 1, LOOM_SEC(10));
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
    return n;
}

static intptr_t stdio_main(void *arg)
{
    char buf[256];
    struct loom_proc p;
    int rc;
    /* stderr merged into stdout */
    const char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2", NULL};
    struct loom_proc_options o = {.argv = argv, .out = LOOM_PROC_PIPE, .err = LOOM_PROC_STDOUT};
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), 0);
    ck_assert_ptr_null(p.in);
    ck_assert_ptr_null(p.err);
    read_all(p.out, buf, sizeof(buf));
    ck_assert_str_eq(buf, "out\nerr\n");
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    loom_proc_close(&p);
    /* stderr to /dev/null, env and cwd */
    const char *argv2[] = {"/bin/sh", "-c", "echo \"$FOO\"; pwd; echo hidden >&2", NULL};
    const char *env[] = {"FOO=bar baz", "PATH=/usr/bin:/bin", NULL};
    struct loom_proc_options o2 = {
        .argv = argv2, .env = env, .cwd = "/tmp", .out = LOOM_PROC_PIPE, .err = LOOM_PROC_DEVNULL};
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o2), 0);
    read_all(p.out, buf, sizeof(buf));
    ck_assert_str_eq(buf, "bar baz\n/tmp\n");
    loom_proc_close(&p);
    /* only fds 0-2 reach the child, and signals are not blocked there */
    ck_assert_int_eq(spawn_sh(&p, "exec ls /proc/self/fd", LOOM_PROC_PIPE), 0);
    read_all(p.out, buf, sizeof(buf));
    ck_assert_str_eq(buf, "0\n1\n2\n3\n"); /* 3: the directory ls reads */
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    loom_proc_close(&p);
    ck_assert_int_eq(spawn_sh(&p, "exec grep SigBlk /proc/self/status", LOOM_PROC_PIPE), 0);
    read_all(p.out, buf, sizeof(buf));
    ck_assert_str_eq(buf, "SigBlk:\t0000000000000000\n");
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, 0);
    loom_proc_close(&p);
    return 0;
}

START_TEST(test_stdio_modes) { ck_assert_int_eq(test_run_task_opt(NULL, stdio_main, NULL), 0); }
END_TEST

static intptr_t stdin_main(void *arg)
{
    const char *argv[] = {"/bin/sh", "-c", "read x; echo \"got $x\"; echo e >&2; exit 7", NULL};
    struct loom_proc_options o = {
        .argv = argv, .in = LOOM_PROC_PIPE, .out = LOOM_PROC_PIPE, .err = LOOM_PROC_PIPE};
    struct loom_proc p;
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), 0);
    struct loom_bytes out = {0}, err = {0};
    ck_assert_int_eq(loom_proc_communicate(&p, "Hazadus\n", 8, &out, &err, LOOM_SEC(10)), 0);
    ck_assert_str_eq(out.data, "got Hazadus\n");
    ck_assert_str_eq(err.data, "e\n");
    int rc;
    ck_assert(loom_proc_returncode(&p, &rc));
    ck_assert_int_eq(rc, 7);
    free(out.data);
    free(err.data);
    loom_proc_close(&p);
    return 0;
}

START_TEST(test_communicate_small)
{
    ck_assert_int_eq(test_run_task_opt(NULL, stdin_main, NULL), 0);
}
END_TEST

/* --- many children --- */

struct many {
    struct loom_semaphore sem;
    int next, bad, running, max_running;
};

static intptr_t one_child(void *arg)
{
    struct many *m = arg;
    int i = m->next++;
    int rc = loom_semaphore_acquire(&m->sem, -1);
    if (rc < 0)
        return rc;
    if (++m->running > m->max_running)
        m->max_running = m->running;
    char script[32];
    snprintf(script, sizeof(script), "exit %d", i % 200);
    struct loom_proc p;
    rc = spawn_sh(&p, script, LOOM_PROC_DEVNULL);
    int code = -1;
    if (rc == 0)
        rc = loom_proc_wait(&p, LOOM_SEC(30), &code);
    if (rc == 0 && code != i % 200)
        m->bad++;
    loom_proc_close(&p);
    m->running--;
    loom_semaphore_release(&m->sem);
    return rc;
}

static intptr_t many_main(void *arg)
{
    enum { N = 1000 };
    struct many m = {.next = 0};
    loom_semaphore_init(&m.sem, 8);
    struct loom_task **t = calloc(N, sizeof(*t));
    for (int i = 0; i < N; i++)
        ck_assert_ptr_nonnull(t[i] = loom_spawn(one_child, &m, NULL));
    ck_assert_int_eq(loom_gather(t, N, NULL, 0), 0);
    free(t);
    ck_assert_int_eq(m.bad, 0);
    ck_assert_int_le(m.max_running, 8);
    ck_assert_int_eq(m.max_running, 8);
    loom_semaphore_close(&m.sem);
    return 0;
}

START_TEST(test_thousand_children)
{
    test_fd_mark();
    ck_assert_int_eq(test_run_task_opt(NULL, many_main, NULL), 0);
    ck_assert_int_eq(zombie_children(), 0);
    test_fd_check();
}
END_TEST

START_TEST(test_thousand_children_sigchld)
{
    setenv("LOOM_PROC_NO_PIDFD", "1", 1);
    test_fd_mark();
    ck_assert_int_eq(test_run_task_opt(NULL, many_main, NULL), 0);
    ck_assert_int_eq(zombie_children(), 0);
    test_fd_check();
}
END_TEST

/* --- big pipes, the deadlock, communicate --- */

static intptr_t big_pipe_main(void *arg)
{
    struct loom_proc p;
    ck_assert_int_eq(spawn_sh(&p, "exec head -c 100000000 /dev/zero", LOOM_PROC_PIPE), 0);
    static char buf[256 * 1024];
    size_t total = 0;
    ssize_t n;
    while ((n = loom_stream_read_some(p.out, buf, sizeof(buf), LOOM_SEC(30))) > 0)
        total += (size_t)n;
    ck_assert_int_eq(n, LOOM_EOF);
    ck_assert_uint_eq(total, 100000000u);
    int rc;
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, 0);
    loom_proc_close(&p);
    return 0;
}

START_TEST(test_100mb_stdout) { ck_assert_int_eq(test_run_task_opt(NULL, big_pipe_main, NULL), 0); }
END_TEST

/* Listing 13.5: stdout piped but never read, parent only waits -> the child
 * blocks on the full pipe and never exits. A bounded wait detects it; then
 * communicate() reads the pipe and the child finishes. */
static intptr_t deadlock_main(void *arg)
{
    struct loom_proc p;
    ck_assert_int_eq(spawn_sh(&p, "exec head -c 9000000 /dev/zero", LOOM_PROC_PIPE), 0);
    int rc = 0;
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_MS(500), &rc), -ETIMEDOUT);
    ck_assert(!loom_proc_returncode(&p, NULL));
    struct loom_bytes out = {0};
    ck_assert_int_eq(loom_proc_communicate(&p, NULL, 0, &out, NULL, LOOM_SEC(30)), 0);
    ck_assert_uint_eq(out.len, 9000000u);
    ck_assert(loom_proc_returncode(&p, &rc) && rc == 0);
    free(out.data);
    loom_proc_close(&p);
    return 0;
}

START_TEST(test_deadlock_then_communicate)
{
    ck_assert_int_eq(test_run_task_opt(NULL, deadlock_main, NULL), 0);
}
END_TEST

static intptr_t both_ways_main(void *arg)
{
    enum { SIZE = 100 * 1000 * 1000 };
    char *in = malloc(SIZE);
    for (size_t i = 0; i < SIZE; i++)
        in[i] = (char)('a' + i % 26);
    /* stdout and stderr both get everything: neither pipe may block the other */
    const char *argv[] = {"/bin/sh", "-c", "tee /dev/stderr", NULL};
    struct loom_proc_options o = {
        .argv = argv, .in = LOOM_PROC_PIPE, .out = LOOM_PROC_PIPE, .err = LOOM_PROC_PIPE};
    struct loom_proc p;
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), 0);
    struct loom_bytes out = {0}, err = {0};
    ck_assert_int_eq(loom_proc_communicate(&p, in, SIZE, &out, &err, LOOM_SEC(60)), 0);
    ck_assert_uint_eq(out.len, SIZE);
    ck_assert_uint_eq(err.len, SIZE);
    ck_assert(memcmp(out.data, in, SIZE) == 0);
    ck_assert(memcmp(err.data, in, SIZE) == 0);
    free(out.data);
    free(err.data);
    free(in);
    loom_proc_close(&p);
    return 0;
}

START_TEST(test_communicate_100mb_each_way)
{
    ck_assert_int_eq(test_run_task_opt(NULL, both_ways_main, NULL), 0);
}
END_TEST

static intptr_t limit_main(void *arg)
{
    const char *argv[] = {"/bin/sh", "-c", "exec head -c 100000 /dev/zero", NULL};
    struct loom_proc_options o = {.argv = argv, .out = LOOM_PROC_PIPE, .output_limit = 1000};
    struct loom_proc p;
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), 0);
    struct loom_bytes out = {0};
    ck_assert_int_eq(loom_proc_communicate(&p, NULL, 0, &out, NULL, LOOM_SEC(10)), LOOM_ELIMIT);
    ck_assert_ptr_null(out.data);
    loom_proc_close(&p);
    return 0;
}

START_TEST(test_communicate_limit)
{
    ck_assert_int_eq(test_run_task_opt(NULL, limit_main, NULL), 0);
    ck_assert_int_eq(zombie_children(), 0);
}
END_TEST

/* --- cancellation leaves no zombie --- */

static intptr_t waiter(void *arg)
{
    struct loom_proc *p = arg;
    int rc;
    return loom_proc_wait(p, -1, &rc);
}

static intptr_t cancel_main(void *arg)
{
    struct loom_proc p, q;
    ck_assert_int_eq(spawn_sh(&p, "exec sleep 30", LOOM_PROC_INHERIT), 0);
    ck_assert_int_eq(spawn_sh(&q, "exec sleep 30", LOOM_PROC_INHERIT), 0);
    struct loom_task *t = loom_spawn(waiter, &p, "waiter");
    struct loom_task *u = loom_spawn(waiter, &q, "waiter2");
    ck_assert_int_eq(loom_sleep(LOOM_MS(50)), 0);
    loom_task_cancel(t);
    loom_task_cancel(u);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    ck_assert_int_eq(loom_task_join(u), -ECANCELED);
    /* q exits (SIGTERM, after the cancel however slow the machine) with nobody
     * waiting: the loop reaps it anyway */
    ck_assert_int_eq(kill(q.pid, SIGTERM), 0);
    for (int i = 0; i < 500 && !loom_proc_returncode(&q, NULL); i++)
        loom_sleep(LOOM_MS(10));
    int rc;
    ck_assert(loom_proc_returncode(&q, &rc));
    ck_assert_int_eq(rc, -SIGTERM);
    ck_assert_int_eq(zombie_children(), 0);
    /* p still runs; closing it kills and reaps it */
    pid_t pid = p.pid;
    ck_assert_int_eq(kill(pid, 0), 0);
    loom_proc_close(&p);
    loom_proc_close(&q);
    ck_assert_int_eq(kill(pid, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert_int_eq(zombie_children(), 0);
    return 0;
}

/* Closing a process while another task waits for it: the waiter gets the
 * returncode of the kill (-9) and never touches the freed record. */
static intptr_t wait_status(void *arg)
{
    int rc = 0;
    int r = loom_proc_wait(arg, -1, &rc);
    return r < 0 ? r : 1000 + rc;
}

static intptr_t close_while_waited_main(void *arg)
{
    struct loom_proc *p = malloc(sizeof(*p));
    ck_assert_int_eq(spawn_sh(p, "exec sleep 30", LOOM_PROC_INHERIT), 0);
    struct loom_task *t = loom_spawn(wait_status, p, "waiter");
    ck_assert_int_eq(loom_sleep(LOOM_MS(20)), 0);
    loom_proc_close(p);
    free(p);
    ck_assert_int_eq(loom_task_join(t), 1000 - SIGKILL);
    return 0;
}

START_TEST(test_close_while_waited)
{
    ck_assert_int_eq(test_run_task_opt(NULL, close_while_waited_main, NULL), 0);
    ck_assert_int_eq(zombie_children(), 0);
}
END_TEST

START_TEST(test_cancel_wait_no_zombie)
{
    test_fd_mark();
    ck_assert_int_eq(test_run_task_opt(NULL, cancel_main, NULL), 0);
    ck_assert_int_eq(zombie_children(), 0);
    test_fd_check();
}
END_TEST

START_TEST(test_cancel_wait_no_zombie_sigchld)
{
    setenv("LOOM_PROC_NO_PIDFD", "1", 1);
    ck_assert_int_eq(test_run_task_opt(NULL, cancel_main, NULL), 0);
    ck_assert_int_eq(zombie_children(), 0);
}
END_TEST

/* --- process pool --- */

static int upper(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    char *o = malloc(len + 16);
    if (!o)
        return -ENOMEM;
    const char *s = in;
    for (size_t i = 0; i < len; i++)
        o[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    size_t n = len;
    if (state)
        n += (size_t)sprintf(o + len, "%s", (const char *)state);
    out->data = o;
    out->len = n;
    return 0;
}

static int failing(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    return -EDOM;
}

static int slow(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    usleep(30 * 1000 * 1000);
    return 0;
}

static int init_suffix(void *arg, void **state)
{
    *state = arg;
    return 0;
}

static void progress(void *arg, size_t done, size_t submitted)
{
    size_t *last = arg;
    ck_assert_uint_le(done, submitted);
    *last = done;
}

static intptr_t pool_main(void *arg)
{
    size_t last = 0;
    struct loom_pool_options o = {.workers = 3,
                                  .init = init_suffix,
                                  .init_arg = "!",
                                  .progress = progress,
                                  .progress_arg = &last};
    struct loom_pool *pool;
    ck_assert_int_eq(loom_pool_new(&o, &pool), 0);
    pid_t pids[8];
    ck_assert_uint_eq(loom_pool_workers(pool, pids, 8), 3);
    struct loom_bytes r = {0};
    ck_assert_int_eq(loom_pool_apply(pool, upper, "hello", 5, &r, LOOM_SEC(10)), 0);
    ck_assert_uint_eq(r.len, 6);
    ck_assert(memcmp(r.data, "HELLO!", 6) == 0);
    free(r.data);
    ck_assert_int_eq(loom_pool_apply(pool, failing, "x", 1, &r, LOOM_SEC(10)), -EDOM);
    /* ordered map with chunks */
    enum { N = 101 };
    struct loom_bytes ins[N], outs[N];
    char words[N][16];
    for (int i = 0; i < N; i++) {
        ins[i].len = (size_t)snprintf(words[i], sizeof(words[i]), "w%d", i);
        ins[i].data = words[i];
    }
    ck_assert_int_eq(loom_pool_map(pool, upper, ins, N, 10, outs), 0);
    for (int i = 0; i < N; i++) {
        char want[16];
        snprintf(want, sizeof(want), "W%d!", i);
        ck_assert_str_eq(outs[i].data, want);
        free(outs[i].data);
    }
    ck_assert_uint_eq(last, 2 + 11);
    ck_assert_int_eq(loom_pool_shutdown(pool, false), 0);
    loom_pool_free(pool);
    return 0;
}

START_TEST(test_pool_basic)
{
    test_fd_mark();
    ck_assert_int_eq(test_run_task_opt(NULL, pool_main, NULL), 0);
    ck_assert_int_eq(zombie_children(), 0);
    test_fd_check();
}
END_TEST

static intptr_t pool_crash_main(void *arg)
{
    struct loom_pool_options o = {.workers = 2};
    struct loom_pool *pool;
    ck_assert_int_eq(loom_pool_new(&o, &pool), 0);
    struct loom_pool_job *job;
    ck_assert_int_eq(loom_pool_submit(pool, slow, NULL, 0, &job), 0);
    for (int i = 0; i < 1000 && !loom_pool_job_worker(job); i++)
        loom_sleep(LOOM_MS(5));
    pid_t victim = loom_pool_job_worker(job);
    ck_assert_int_gt(victim, 0);
    loom_sleep(LOOM_MS(50)); /* let it be inside the job */
    ck_assert_int_eq(kill(victim, SIGKILL), 0);
    ck_assert_int_eq(loom_pool_job_wait(job, LOOM_SEC(10)), LOOM_ECHILD);
    ck_assert_int_eq(loom_pool_job_worker_status(job), -SIGKILL);
    ck_assert_str_eq(loom_errname(LOOM_ECHILD), "LOOM_ECHILD");
    loom_pool_job_free(job);
    /* later jobs run, on a replaced worker */
    for (int i = 0; i < 10; i++) {
        struct loom_bytes r = {0};
        ck_assert_int_eq(loom_pool_apply(pool, upper, "ok", 2, &r, LOOM_SEC(10)), 0);
        ck_assert(memcmp(r.data, "OK", 2) == 0);
        free(r.data);
    }
    pid_t pids[4];
    ck_assert_uint_eq(loom_pool_workers(pool, pids, 4), 2);
    ck_assert(pids[0] != victim && pids[1] != victim);
    /* cancel shutdown with a job running: it fails with -ECANCELED */
    ck_assert_int_eq(loom_pool_submit(pool, slow, NULL, 0, &job), 0);
    loom_sleep(LOOM_MS(50));
    double t0 = test_now();
    ck_assert_int_eq(loom_pool_shutdown(pool, true), 0);
    ck_assert(test_now() - t0 < 5);
    ck_assert_int_eq(loom_pool_job_wait(job, 0), -ECANCELED);
    loom_pool_job_free(job);
    loom_pool_free(pool);
    return 0;
}

START_TEST(test_pool_worker_killed)
{
    ck_assert_int_eq(test_run_task_opt(NULL, pool_crash_main, NULL), 0);
    ck_assert_int_eq(zombie_children(), 0);
}
END_TEST

static int nap(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    usleep(300 * 1000);
    return 0;
}

static intptr_t inner_main(void *arg)
{
    int rc = loom_sleep(LOOM_MS(20));
    return rc < 0 ? rc : 42;
}

/* A job that runs an event loop of its own inside the worker (listing 6.15). */
static int own_loop(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    intptr_t r = loom_run(inner_main, NULL);
    if (r < 0)
        return (int)r;
    out->data = malloc(1);
    if (!out->data)
        return -ENOMEM;
    *(char *)out->data = (char)r;
    out->len = 1;
    return 0;
}

static intptr_t pool_more_main(void *arg)
{
    struct loom_pool_options o = {.workers = 4};
    struct loom_pool *pool;
    ck_assert_int_eq(loom_pool_new(&o, &pool), 0);
    /* four 0.3 s jobs on four workers overlap */
    struct loom_pool_job *jobs[4];
    double t0 = test_now();
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(loom_pool_submit(pool, nap, NULL, 0, &jobs[i]), 0);
    pid_t seen[4];
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(loom_pool_job_wait(jobs[i], LOOM_SEC(10)), 0);
        seen[i] = loom_pool_job_worker(jobs[i]);
        loom_pool_job_free(jobs[i]);
    }
    double t = test_now() - t0;
    ck_assert_msg(t < 1.0, "4 x 0.3 s jobs on 4 workers took %.3f s", t);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            ck_assert_int_ne(seen[i], seen[j]);
    /* a worker may run its own loop */
    struct loom_bytes r = {0};
    ck_assert_int_eq(loom_pool_apply(pool, own_loop, NULL, 0, &r, LOOM_SEC(10)), 0);
    ck_assert_uint_eq(r.len, 1);
    ck_assert_int_eq(*(char *)r.data, 42);
    free(r.data);
    /* a bounded wait times out and the job goes on; freeing it while it runs is fine */
    struct loom_pool_job *job;
    ck_assert_int_eq(loom_pool_submit(pool, nap, NULL, 0, &job), 0);
    ck_assert_int_eq(loom_pool_job_wait(job, LOOM_MS(10)), -ETIMEDOUT);
    ck_assert(!loom_pool_job_done(job));
    loom_pool_job_free(job);
    ck_assert_int_eq(loom_pool_shutdown(pool, false), 0);
    ck_assert_int_eq(loom_pool_submit(pool, nap, NULL, 0, &job), -ESHUTDOWN);
    loom_pool_free(pool);
    /* freeing a pool without shutdown kills its workers; the loop reaps them */
    ck_assert_int_eq(loom_pool_new(&o, &pool), 0);
    ck_assert_int_eq(loom_pool_submit(pool, nap, NULL, 0, &job), 0);
    loom_sleep(LOOM_MS(20));
    loom_pool_free(pool);
    ck_assert_int_eq(loom_pool_job_wait(job, LOOM_SEC(5)), -ECANCELED);
    loom_pool_job_free(job);
    /* ...also before its worker tasks ever ran */
    ck_assert_int_eq(loom_pool_new(&o, &pool), 0);
    pid_t pids[4];
    ck_assert_uint_eq(loom_pool_workers(pool, pids, 4), 4);
    loom_pool_free(pool);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(kill(pids[i], 0), -1); /* killed and reaped already */
    return 0;
}

START_TEST(test_pool_parallel_and_lifecycle)
{
    test_fd_mark();
    ck_assert_int_eq(test_run_task_opt(NULL, pool_more_main, NULL), 0);
    ck_assert_int_eq(zombie_children(), 0);
    test_fd_check();
}
END_TEST

/* --- shared memory --- */

START_TEST(test_shared_counter_exact)
{
    struct loom_shared *sh;
    ck_assert_int_eq(loom_shared_new(sizeof(long), &sh), 0);
    long *counter = loom_shared_data(sh);
    ck_assert_int_eq(*counter, 0);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        ck_assert_int_ge(kids[k], 0);
        if (kids[k] == 0) {
            for (int i = 0; i < 1000000; i++) {
                loom_shared_lock(sh);
                (*counter)++;
                loom_shared_unlock(sh);
            }
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st;
        ck_assert_int_eq(waitpid(kids[k], &st, 0), kids[k]);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    ck_assert_int_eq(*counter, 2000000);
    loom_shared_free(sh);
}
END_TEST

START_TEST(test_shared_lock_owner_died)
{
    struct loom_shared *sh;
    ck_assert_int_eq(loom_shared_new(64, &sh), 0);
    pid_t kid = fork();
    if (kid == 0) {
        loom_shared_lock(sh);
        _exit(0); /* dies holding the lock */
    }
    int st;
    ck_assert_int_eq(waitpid(kid, &st, 0), kid);
    ck_assert_int_eq(loom_shared_lock(sh), 0);
    ck_assert_int_eq(loom_shared_unlock(sh), 0);
    loom_shared_free(sh);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proc");
    TCase *tc = test_tcase(s, "spawn", 20);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_exit_codes);
    tcase_add_test(tc, test_terminate);
    tcase_add_test(tc, test_stdio_modes);
    tcase_add_test(tc, test_communicate_small);
    tc = test_tcase(s, "many", 60);
    tcase_add_test(tc, test_thousand_children);
    tcase_add_test(tc, test_thousand_children_sigchld);
    tc = test_tcase(s, "pipes", 60);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_100mb_stdout);
    tcase_add_test(tc, test_deadlock_then_communicate);
    tcase_add_test(tc, test_communicate_100mb_each_way);
    tcase_add_test(tc, test_communicate_limit);
    tc = test_tcase(s, "cancel", 20);
    tcase_add_test(tc, test_cancel_wait_no_zombie);
    tcase_add_test(tc, test_cancel_wait_no_zombie_sigchld);
    tcase_add_test(tc, test_close_while_waited);
    tc = test_tcase(s, "pool", 30);
    tcase_add_test(tc, test_pool_basic);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_pool_worker_killed);
    tcase_add_test(tc, test_pool_parallel_and_lifecycle);
    tc = test_tcase(s, "shared", 30);
    tcase_add_test(tc, test_shared_counter_exact);
    tcase_add_test(tc, test_shared_lock_owner_died);
    return test_main(s);
}
