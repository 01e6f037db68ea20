// check_cxx.cc - loom from C++ (built with g++ as check_cxx and clang++ as
// check_cxx_clang): each task has its own exception state (rethrow after a
// suspension, std::uncaught_exceptions), an exception thrown through a loom
// callback leaves the loop usable, RAII runs across cancellation, and an
// exception escaping a task names the task before the process ends.
extern "C" {
#include "harness/harness.h"
}

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "reactor/loop.h"
#include "reactor/task.h"

// --- rethrow after a suspension, two tasks interleaved ---

static intptr_t rethrower(void *arg)
{
    const std::string mine = arg ? "two" : "one";
    try {
        throw std::runtime_error(mine);
    } catch (...) {
        // Both tasks sit in a catch block here; the other one throws and
        // catches its own exception meanwhile.
        for (int i = 0; i < 3; i++)
            loom_yield();
        try {
            throw; // must rethrow this task's exception, not the other's
        } catch (const std::runtime_error &e) {
            return mine == e.what() ? 1 : -100;
        }
    }
    return -1;
}

START_TEST(test_rethrow_interleaved)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_task *a, *b;
    ck_assert_int_eq(loom_task_spawn(loop, rethrower, nullptr, nullptr, &a), 0);
    ck_assert_int_eq(loom_task_spawn(loop, rethrower, (void *)1, nullptr, &b), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(loom_task_result(a), 1);
    ck_assert_int_eq(loom_task_result(b), 1);
    loom_task_release(a);
    loom_task_release(b);
    test_loop_free(loop);
}
END_TEST

// --- std::uncaught_exceptions() per task ---

static int in_dtor_before = -1, in_dtor_after = -1, other_max = -1;

struct SuspendingGuard {
    ~SuspendingGuard()
    {
        in_dtor_before = std::uncaught_exceptions();
        loom_yield(); // suspends in the middle of stack unwinding
        loom_yield();
        in_dtor_after = std::uncaught_exceptions();
    }
};

static intptr_t unwinder(void *)
{
    try {
        SuspendingGuard g;
        throw 42;
    } catch (int v) {
        return v;
    }
    return -1;
}

static intptr_t watcher(void *)
{
    for (int i = 0; i < 5; i++) {
        other_max = std::max(other_max, std::uncaught_exceptions());
        loom_yield();
    }
    return 0;
}

START_TEST(test_uncaught_per_task)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_task *a, *b;
    ck_assert_int_eq(loom_task_spawn(loop, unwinder, nullptr, nullptr, &a), 0);
    ck_assert_int_eq(loom_task_spawn(loop, watcher, nullptr, nullptr, &b), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(loom_task_result(a), 42);
    ck_assert_int_eq(in_dtor_before, 1);
    ck_assert_int_eq(in_dtor_after, 1);
    ck_assert_int_eq(other_max, 0); // the unwinding task's count did not leak
    ck_assert_int_eq(std::uncaught_exceptions(), 0);
    loom_task_release(a);
    loom_task_release(b);
    test_loop_free(loop);
}
END_TEST

// --- an exception through a loom callback, then the loop used again ---

static int later_ran;

static void throwing_timer(struct loom_timer *) { throw std::runtime_error("from a timer"); }
static void throwing_call(void *) { throw 7; }
static void count_call(void *) { later_ran++; }

START_TEST(test_exception_through_callback)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_timer t;
    loom_timer_init(loop, &t, throwing_timer);
    ck_assert_int_eq(loom_timer_start(&t, LOOM_MS(1)), 0);
    bool caught = false;
    try {
        loom_loop_run(loop, LOOM_RUN_DEFAULT);
    } catch (const std::runtime_error &e) {
        caught = std::strcmp(e.what(), "from a timer") == 0;
    }
    ck_assert(caught);
    ck_assert_ptr_null(loom_loop_current());
    // The loop is not left "running": it runs and frees again.
    later_ran = 0;
    ck_assert_int_eq(loom_call_soon(loop, throwing_call, nullptr), 0);
    ck_assert_int_eq(loom_call_soon(loop, count_call, nullptr), 0);
    ck_assert_int_eq(loom_call_soon(loop, count_call, nullptr), 0);
    caught = false;
    try {
        loom_loop_run(loop, LOOM_RUN_NOWAIT);
    } catch (int v) {
        caught = v == 7;
    }
    ck_assert(caught);
    // The calls queued behind the throwing one were kept, in order.
    ck_assert_int_eq(later_ran, 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_DEFAULT), 0);
    ck_assert_int_eq(later_ran, 2);
    test_loop_free(loop);
}
END_TEST

// --- RAII across cancellation ---

static int live_objects;

struct Counted {
    Counted() { live_objects++; }
    ~Counted() { live_objects--; }
};

static intptr_t raii_sleeper(void *)
{
    auto p = std::make_unique<Counted>();
    std::vector<std::string> v(100, std::string(100, 'x'));
    Counted c;
    int rc = loom_sleep(LOOM_SEC(30));
    return rc == -ECANCELED ? -ECANCELED : 0; // destructors run on the way out
}

START_TEST(test_raii_across_cancel)
{
    struct loom_loop *loop = test_loop_new();
    live_objects = 0;
    struct loom_task *t;
    ck_assert_int_eq(loom_task_spawn(loop, raii_sleeper, nullptr, nullptr, &t), 0);
    ck_assert_int_eq(loom_loop_run(loop, LOOM_RUN_NOWAIT), 1);
    ck_assert_int_eq(live_objects, 2);
    ck_assert(loom_task_cancel(t));
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), -ECANCELED);
    ck_assert_int_eq(live_objects, 0);
    test_loop_free(loop);
}
END_TEST

// --- an exception escaping a task body ends the process, naming the task ---

static intptr_t escapes(void *)
{
    loom_yield();
    throw std::runtime_error("boom");
}

START_TEST(test_escape_names_task)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(p[1], 2);
        struct loom_loop *loop;
        if (loom_loop_new(&loop, nullptr) < 0)
            _exit(2);
        struct loom_task_options o = {};
        o.name = "thrower";
        loom_task_spawn(loop, escapes, nullptr, &o, nullptr);
        loom_loop_run(loop, LOOM_RUN_DEFAULT);
        _exit(0);
    }
    close(p[1]);
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(buf) - 1 && (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = 0;
    close(p[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_contains(buf, "loom: task \"thrower\" ended with an uncaught C++ exception");
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %#x: %s", status,
                  buf);
}
END_TEST

int main()
{
    Suite *s = suite_create("cxx");
    TCase *tc = test_tcase(s, "exceptions", 10);
    tcase_add_test(tc, test_rethrow_interleaved);
    tcase_add_test(tc, test_uncaught_per_task);
    tcase_add_test(tc, test_exception_through_callback);
    tcase_add_test(tc, test_escape_names_task);
    tc = test_tcase(s, "raii", 10);
    tcase_add_test(tc, test_raii_across_cancel);
    return test_main(s);
}
