/* check_lifetime_loop.c - mistakes an embedder can make with a loop, and the
 * errors (not corruption) they get: task handles that outlive their loop, a
 * loop freed with things still open, loom_run reporting what main left open,
 * NULL arguments, and a task that overflows its stack (reported by name). The
 * overflow cases fork: the child dies, the parent reads its stderr. */
#include "harness/harness.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/stream.h"
#include "reactor/loop.h"
#include "reactor/park.h"
#include "reactor/task.h"

/* --- task handles outlive the loop --- */

static intptr_t give(void *arg) { return (intptr_t)arg; }

START_TEST(test_handle_outlives_loop)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_task *t;
    struct loom_task_options o = {.name = "kept"};
    ck_assert_int_eq(loom_task_spawn(loop, give, (void *)42, &o, &t), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(loom_loop_free(loop), 0);
    /* Under ASan any of these would be a heap-use-after-free if the loop freed t. */
    ck_assert(loom_task_done(t));
    ck_assert(!loom_task_cancelled(t));
    ck_assert_int_eq(loom_task_result(t), 42);
    ck_assert_str_eq(loom_task_name(t), "kept");
    ck_assert_ptr_null(loom_task_loop(t));
    ck_assert(!loom_task_cancel(t));
    loom_task_release(t);
}
END_TEST

/* --- loom_loop_free refuses while something is open --- */

static char *dump_of(struct loom_loop *loop)
{
    static char buf[4096];
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    ck_assert_ptr_nonnull(f);
    loom_loop_dump(loop, f);
    fclose(f);
    return buf;
}

static void io_nop(struct loom_io *io, unsigned ev) {}
static void timer_nop(struct loom_timer *t) {}
static void async_nop(struct loom_async *a) {}

START_TEST(test_free_busy_watcher)
{
    struct loom_loop *loop = test_loop_new();
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct loom_io io;
    ck_assert_int_eq(loom_io_init(loop, &io, sv[0], io_nop), 0); /* never started */
    ck_assert_int_eq(loom_loop_free(loop), -EBUSY);
    char fdtxt[32];
    snprintf(fdtxt, sizeof(fdtxt), "io fd=%d", sv[0]);
    ck_assert_contains(dump_of(loop), fdtxt);
    loom_io_close(&io);
    close(sv[0]);
    close(sv[1]);
    test_loop_free(loop);
}
END_TEST

START_TEST(test_free_busy_stream)
{
    struct loom_loop *loop = test_loop_new();
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct loom_stream *s;
    ck_assert_int_eq(loom_stream_open_fd(loop, sv[0], 0, &s), 0);
    ck_assert_int_eq(loom_loop_free(loop), -EBUSY); /* libuv's uv_loop_close says EBUSY too */
    ck_assert_contains(dump_of(loop), "(not closed)");
    loom_stream_close(s);
    ck_assert_int_ge(loom_loop_run(loop, LOOM_RUN_NOWAIT), 0);
    close(sv[1]);
    test_loop_free(loop);
}
END_TEST

START_TEST(test_free_busy_timer_async)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_timer t;
    loom_timer_init(loop, &t, timer_nop);
    ck_assert_int_eq(loom_timer_start(&t, LOOM_SEC(60)), 0);
    ck_assert_int_eq(loom_loop_free(loop), -EBUSY);
    ck_assert_contains(dump_of(loop), "timer due in");
    loom_timer_stop(&t);
    struct loom_async a;
    ck_assert_int_eq(loom_async_init(loop, &a, async_nop), 0);
    ck_assert_int_eq(loom_loop_free(loop), -EBUSY);
    ck_assert_contains(dump_of(loop), "async ");
    loom_async_close(&a);
    loom_loop_ref(loop);
    ck_assert_int_eq(loom_loop_free(loop), -EBUSY);
    loom_loop_unref(loop);
    test_loop_free(loop);
}
END_TEST

/* --- loom_run names what main left open, on stderr, without debug mode --- */

/* Run fn in a child with stderr on a pipe; returns what it wrote, *status its wait status. */
static char *child_stderr(void (*fn)(void), int *status)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        unsetenv("LOOM_DEBUG");
        fn();
        _exit(0);
    }
    close(p[1]);
    static char buf[16384];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(buf) - 1 && (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = 0;
    close(p[0]);
    ck_assert_int_eq(waitpid(pid, status, 0), pid);
    return buf;
}

static int leak_sv[2];

static intptr_t main_leaks_stream(void *arg)
{
    struct loom_stream *s;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, leak_sv) < 0)
        return -errno;
    return loom_stream_open_fd(loom_loop_current(), leak_sv[0], 0, &s);
}

static void run_leaky_main(void) { _exit(loom_run(main_leaks_stream, NULL) == 0 ? 0 : 3); }

START_TEST(test_run_reports_open)
{
    int status;
    char *err = child_stderr(run_leaky_main, &status);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x: %s", status, err);
    ck_assert_contains(err, "loom_run: main returned with these still open");
    ck_assert_contains(err, "(not closed)");
}
END_TEST

/* --- invalid arguments --- */

START_TEST(test_null_arguments)
{
    ck_assert_ptr_null(loom_spawn(give, NULL, "no loop")); /* no loop runs on this thread */
    struct loom_loop *loop = test_loop_new();
    struct loom_task *t = (struct loom_task *)1;
    ck_assert_int_eq(loom_task_spawn(loop, NULL, NULL, NULL, &t), -EINVAL);
    ck_assert_ptr_eq(t, (struct loom_task *)1); /* untouched on error */
    ck_assert_int_eq(loom_task_spawn(NULL, give, NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(loom_loop_run(NULL, LOOM_RUN_NOWAIT), -EINVAL);
    ck_assert_int_eq(loom_loop_free(NULL), -EINVAL);
    ck_assert_int_eq(loom_call_soon(NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(loom_call_soon(loop, NULL, NULL), -EINVAL);
    ck_assert_int_eq(loom_call_soon_threadsafe(NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(loom_call_later(NULL, 0, NULL, NULL, NULL), -EINVAL);
    struct loom_io io;
    ck_assert_int_eq(loom_io_init(NULL, &io, 0, io_nop), -EINVAL);
    ck_assert_int_eq(loom_async_init(NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(loom_run(NULL, NULL), -EINVAL);
    ck_assert_int_eq(loom_loop_backend_fd(NULL), -EINVAL);
    ck_assert_int_eq(loom_loop_backend_timeout(NULL), -EINVAL);
    test_loop_free(loop);
}
END_TEST

/* --- stack overflow: caught in the guard and reported by task name --- */

static int depth(int n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    return n > 0 ? depth(n - 1) + pad[0] : pad[0];
}

static intptr_t deep(void *arg) { return depth(1 << 20); }

static intptr_t big_frame(void *arg)
{
    /* 320 KiB on a 256 KiB stack: the lowest bytes lie below the stack, in
     * its guard (as large as the stack), not in a neighbour's stack. */
    volatile char a[320 * 1024];
    memset((char *)a, 1, sizeof(a));
    return a[100];
}

static intptr_t neighbour(void *arg) { return loom_sleep(LOOM_SEC(10)); }

static int overflow_opt_out;

static void run_overflow(loom_task_fn fn, const char *name)
{
    struct loom_loop *loop;
    struct loom_loop_options opt = {.no_sigsegv_handler = overflow_opt_out};
    if (loom_loop_new(&loop, &opt) < 0)
        _exit(2);
    struct loom_task_options n1 = {.name = "neighbour"}, n2 = {.name = name};
    loom_task_spawn(loop, neighbour, NULL, &n1, NULL);
    loom_task_spawn(loop, fn, NULL, &n2, NULL);
    loom_task_spawn(loop, neighbour, NULL, &n1, NULL);
    loom_loop_run(loop, LOOM_RUN_DEFAULT);
    _exit(0); /* not reached */
}

static void overflow_deep(void) { run_overflow(deep, "deep"); }
static void overflow_big(void) { run_overflow(big_frame, "big"); }

START_TEST(test_overflow_named)
{
    int status;
    char *err = child_stderr(overflow_deep, &status);
    ck_assert_contains(err, "loom: task \"deep\" overflowed its 256 KiB stack");
    /* abort(), or the sanitizer's own report after ours when it ran first */
    ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "status %#x", status);
}
END_TEST

START_TEST(test_overflow_big_frame)
{
    int status;
    char *err = child_stderr(overflow_big, &status);
    ck_assert_contains(err, "loom: task \"big\" overflowed its 256 KiB stack");
    ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "status %#x", status);
}
END_TEST

START_TEST(test_overflow_opt_out)
{
    overflow_opt_out = 1;
    int status;
    char *err = child_stderr(overflow_deep, &status);
    ck_assert_msg(strstr(err, "overflowed") == NULL, "%s", err);
    ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == 0), "status %#x", status);
}
END_TEST

static void mine(int sig, siginfo_t *si, void *uc)
{
    static const char msg[] = "embedder's handler\n";
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    (void)w;
    _exit(42);
}

static void install_mine(void)
{
    static char alt[64 * 1024];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof(alt)};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = mine;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
}

static void overflow_chained(void)
{
    install_mine();
    overflow_deep();
}

/* Address 8, not NULL: UBSan would report a NULL load before it faults. */
static intptr_t null_deref(void *arg)
{
    volatile uintptr_t bad = 8;
    return *(volatile int *)bad;
}

static void other_fault_chained(void)
{
    install_mine();
    run_overflow(null_deref, "nullptr");
}

START_TEST(test_overflow_chains)
{
    int status;
    char *err = child_stderr(overflow_chained, &status);
    TEST_IN_ORDER(err, "loom: task \"deep\" overflowed its 256 KiB stack", "embedder's handler");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 42, "status %#x", status);
    /* A fault that is not an overflow goes to the embedder's handler alone. */
    err = child_stderr(other_fault_chained, &status);
    ck_assert_msg(strstr(err, "overflowed") == NULL, "%s", err);
    ck_assert_contains(err, "embedder's handler");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 42, "status %#x", status);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lifetime_loop");
    TCase *tc = test_tcase(s, "handles", 10);
    tcase_add_test(tc, test_handle_outlives_loop);
    tc = test_tcase(s, "free", 10);
    tcase_add_test(tc, test_free_busy_watcher);
    tcase_add_test(tc, test_free_busy_stream);
    tcase_add_test(tc, test_free_busy_timer_async);
    tcase_add_test(tc, test_run_reports_open);
    tc = test_tcase(s, "args", 10);
    tcase_add_test(tc, test_null_arguments);
    tc = test_tcase(s, "overflow", 30);
    tcase_add_test(tc, test_overflow_named);
    tcase_add_test(tc, test_overflow_big_frame);
    tcase_add_test(tc, test_overflow_opt_out);
    tcase_add_test(tc, test_overflow_chains);
    return test_main(s);
}
