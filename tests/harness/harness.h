/* harness.h - shared helpers for loom's Check suites.
 *
 * Each test makes its own loop with test_loop_new() (the backend comes from
 * LOOM_BACKEND, set by tests/run-suites) and ends with test_loop_free(), which
 * asserts the loop is empty. test_fd_mark()/test_fd_check() catch fd leaks. */
#ifndef LOOM_TESTS_HARNESS_H
#define LOOM_TESTS_HARNESS_H

#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>

#include "reactor/loop.h"
#include "reactor/task.h"

/* A fresh loop on $LOOM_BACKEND; fails the test if it cannot be made. */
struct loom_loop *test_loop_new(void);
/* Free the loop, asserting nothing was left registered. */
void test_loop_free(struct loom_loop *loop);
/* Run fn(arg) as the main task of a fresh loop, free the loop (checked
 * empty) and return fn's result. */
intptr_t test_run_task(loom_task_fn fn, void *arg);
/* The same on a loop made with opt (NULL: defaults; LOOM_BACKEND still picks the
 * backend when opt->backend is NULL), letting work that outlives main finish
 * first (an abandoned executor job, a pool's driver): the loop runs a turn at a
 * time while it is not empty, at most 1000 turns, then must be empty. */
intptr_t test_run_task_opt(const struct loom_loop_options *opt, loom_task_fn fn, void *arg);

/* Number of open fds of this process. */
int test_fd_count(void);
/* Remember the fd count; test_fd_check() asserts it is unchanged. */
void test_fd_mark(void);
void test_fd_check(void);
/* A checked fixture pair doing the two above; add with tcase_add_checked_fixture. */
void test_fixture_setup(void);
void test_fixture_teardown(void);

/* A test that needs an outside program (tmux, psql, gpg, openssl...) calls this
 * first: when `tool` is not on $PATH the test FAILS with "tool is not installed
 * (apt-get install package): why" - a missing component never passes silently. */
void test_require_tool(const char *tool, const char *package, const char *why);

/* Run argv (argv[0] a full path, at most 60 s); fail the test unless it exits 0. */
void test_run_ok(char *const argv[]);

/* Make, with the openssl program, dir/ca.pem (+ ca.key), and dir/srv.key +
 * dir/srv.pem: a server certificate for IP 127.0.0.1 signed by that CA, valid
 * one day. ca_name is the CA's common name. Fails the test if openssl fails. */
void test_make_certs(const char *dir, const char *ca_name);

/* Resident memory of process pid (0: this process) in KiB, from /proc; -1 if unknown. */
long test_rss_kib(pid_t pid);

/* Monotonic clock in seconds. */
double test_now(void);

/* Path of a built program: "$LOOM_BUILD/<rel>" (rel like "demos/ch02/listing_2_3"). */
const char *test_build_path(const char *rel, char *buf, size_t len);

/* Run argv with stdin from /dev/null (or `input` when not NULL), capture stdout
 * and stderr merged into *out (malloc'd, NUL-terminated), wait at most
 * timeout_s seconds (then SIGKILL). Returns the exit status as asyncio's
 * returncode (code, or -signal), and -1000 on timeout. *elapsed gets seconds. */
int test_run(char *const argv[], const char *input, double timeout_s, char **out, double *elapsed);

/* How test_run_demo runs a built program. */
struct test_demo {
    const char *input;      /* its stdin (NULL: /dev/null) */
    int want_status;        /* the exit status asserted (0 unless set) */
    double timeout_s;       /* killed and failed past this (0: 60 s) */
    const char *const *pre; /* arguments before the call's own (NULL-terminated; may be NULL) */
};

/* Run $LOOM_BUILD/<rel> with how->pre then the NULL-terminated variadic
 * arguments (at most 30 in all), assert its exit status (its output shown
 * otherwise) and return its output, stdout and stderr merged (malloc'd).
 * *elapsed (may be NULL) gets the seconds it ran. how may be NULL (defaults). */
char *test_run_demo(const char *rel, const struct test_demo *how, double *elapsed, ...);
char *test_run_demov(const char *rel, const struct test_demo *how, double *elapsed, va_list ap);

/* A program under test that serves on a port (a demo server, loom-echo...). */
struct test_server {
    pid_t pid;
    int out;           /* its stdout + stderr */
    char buf[1 << 16]; /* what it printed so far, NUL-terminated */
    size_t len;
    int port; /* parsed from its "listening on HOST:PORT" line */
};

/* Start argv (argv[0] a path) with stdout and stderr on a pipe and wait (<= 10 s)
 * for its "listening on HOST:PORT" line; fails the test if it does not come. */
void test_server_start(struct test_server *s, char *const argv[]);
/* test_server_start for the built program rel: its arguments are pre then args
 * (each NULL-terminated, either may be NULL; at most 30 in all). */
void test_server_start_demo(struct test_server *s, const char *rel, const char *const *pre,
                            const char *const *args);
/* Collect output for at most timeout_s seconds (returns once something came). */
void test_server_read(struct test_server *s, double timeout_s);
/* A "Name: N kB" field of /proc/PID/status (field "VmRSS:", "VmHWM:"...) in
 * KiB, or -1 when the process or the field is not there. */
long test_proc_status_kib(pid_t pid, const char *field);

/* Wait (<= timeout_s, then SIGKILL and fail) for exit, collecting the output;
 * returns the exit status as asyncio's returncode (code, or -signal). */
int test_server_wait(struct test_server *s, double timeout_s);

/* Assert that out contains each needle, in this order; returns the end of the
 * last match. TEST_IN_ORDER(out, "a", "b", ...) passes the needles inline. */
const char *test_in_order(const char *out, const char *const *needles, size_t n);
#define TEST_IN_ORDER(out, ...)                                                                    \
    test_in_order((out), (const char *const[]){__VA_ARGS__},                                       \
                  sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* How many times needle occurs in out (non-overlapping). */
int test_count(const char *out, const char *needle);

/* Assert that haystack contains needle, with the output shown on failure. */
#define ck_assert_contains(haystack, needle)                                                       \
    ck_assert_msg(strstr((haystack), (needle)) != NULL, "expected \"%s\" in output:\n%s",          \
                  (needle), (haystack))

/* Add a TCase with a timeout (seconds, scaled by CK_TIMEOUT_MULTIPLIER by Check). */
TCase *test_tcase(Suite *s, const char *name, double timeout_s);
/* The same with the fd-leak fixture: each test must end with the fds it began with. */
TCase *test_tcase_fd(Suite *s, const char *name, double timeout_s);

/* Run suite s with CK_FORK and return the process exit status. */
int test_main(Suite *s);

#endif
