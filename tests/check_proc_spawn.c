/* check_proc_spawn.c - how children are started: through a shell (and the
 * quoting helper), pass_fds, a new session or process group (and signalling
 * it), and stdio from/to the caller's own fds. Every test checks that no fd
 * leaks in the parent; error cases also that no child was left behind. */
#include "harness/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/stream.h"
#include "proc/proc.h"
#include "reactor/task.h"

/* --- helpers --- */

/* Read a child's stdout to its end (NUL-terminated into buf). */
static void read_to_end(struct loom_stream *s, char *buf, size_t cap)
{
    ssize_t n = loom_stream_read(s, buf, cap - 1, LOOM_SEC(10));
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
}

/* Run cmd with the shell, stdout piped; its output into buf, returncode back. */
static int shell_output(const char *cmd, const struct loom_proc_options *opt, char *buf, size_t cap)
{
    struct loom_proc_options o = {0};
    if (opt)
        o = *opt;
    o.out = LOOM_PROC_PIPE;
    struct loom_proc p;
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &p, cmd, &o), 0);
    read_to_end(p.out, buf, cap);
    int rc = -1000;
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    loom_proc_close(&p);
    return rc;
}

/* A close-on-exec fd at or above `at` open on /dev/null. */
static int devnull_at(int at)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, at);
    ck_assert_int_ge(hi, at);
    close(fd);
    return hi;
}

/* A temp file opened read-write (unlinked already); returns the fd. */
static int temp_file(void)
{
    char path[] = "/tmp/loom-spawn-XXXXXX";
    int fd = mkostemp(path, O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    return fd;
}

static void file_contents(int fd, char *buf, size_t cap)
{
    ssize_t n = pread(fd, buf, cap - 1, 0);
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
}

/* --- shell --- */

static intptr_t shell_main(void *arg)
{
    char buf[256];
    /* the shell's syntax works: pipes, expansion, variables from env */
    const char *env[] = {"WHO=loom", "PATH=/usr/bin:/bin", NULL};
    struct loom_proc_options o = {.env = env};
    ck_assert_int_eq(shell_output("echo $((1+2)) $WHO | tr 3 x", &o, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "x loom\n");
    /* a command that is not found is the command's failure (127), not ours */
    ck_assert_int_eq(shell_output("exec /nonexistent/loom-prog 2>/dev/null", NULL, buf, sizeof buf),
                     127);
    /* NULL options: everything inherited */
    struct loom_proc p;
    int rc = -1;
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &p, "exit 7", NULL), 0);
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, 7);
    loom_proc_close(&p);
    /* argv with a shell command is a mistake; so is no command */
    const char *argv[] = {"/bin/true", NULL};
    struct loom_proc_options bad = {.argv = argv};
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &p, "true", &bad), -EINVAL);
    ck_assert_int_eq(p.pid, 0);
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &p, NULL, NULL), -EINVAL);
    return 0;
}

START_TEST(test_shell) { ck_assert_int_eq(test_run_task_opt(NULL, shell_main, NULL), 0); }
END_TEST

/* Hostile words survive quoting: printf prints each exactly, and nothing in
 * them runs (the marker file is never made). */
static const char *const hostile[] = {"plain",
                                      "two words",
                                      "it's",
                                      "'",
                                      "''",
                                      "$(touch /tmp/loom-quote-pwned)",
                                      "`touch /tmp/loom-quote-pwned`",
                                      "a;touch /tmp/loom-quote-pwned",
                                      "$HOME",
                                      "\\",
                                      "*",
                                      "line\nbreak",
                                      "",
                                      "&|<>(){}!#~",
                                      "-n"};

static intptr_t quote_main(void *arg)
{
    unlink("/tmp/loom-quote-pwned");
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        char q[256], cmd[300], out[256];
        int n = loom_proc_shell_quote(hostile[i], q, sizeof q);
        ck_assert_int_eq(n, (int)strlen(q));
        snprintf(cmd, sizeof cmd, "printf '%%s' %s", q);
        ck_assert_int_eq(shell_output(cmd, NULL, out, sizeof out), 0);
        ck_assert_msg(strcmp(out, hostile[i]) == 0, "case %zu: got \"%s\"", i, out);
    }
    ck_assert_int_ne(access("/tmp/loom-quote-pwned", F_OK), 0);
    /* exact results and a buffer too small */
    char q[16];
    ck_assert_int_eq(loom_proc_shell_quote("it's", q, sizeof q), 9);
    ck_assert_str_eq(q, "'it'\\''s'");
    ck_assert_int_eq(loom_proc_shell_quote("", q, sizeof q), 2);
    ck_assert_str_eq(q, "''");
    ck_assert_int_eq(loom_proc_shell_quote("abc", q, 5), -ENOSPC);
    ck_assert_int_eq(loom_proc_shell_quote("abc", q, 6), 5);
    ck_assert_int_eq(loom_proc_shell_quote("", q, 0), -ENOSPC);
    return 0;
}

START_TEST(test_shell_quote) { ck_assert_int_eq(test_run_task_opt(NULL, quote_main, NULL), 0); }
END_TEST

/* --- pass_fds --- */

static intptr_t pass_fds_main(void *arg)
{
    char buf[256], cmd[256];
    /* a pipe's write end passed under its own number (>= 40); the child writes
     * to it through /proc, the parent reads it as a stream */
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    int w = fcntl(fds[1], F_DUPFD_CLOEXEC, 40);
    close(fds[1]);
    /* an fd opened WITHOUT close-on-exec and not listed must not reach the child */
    int stray = devnull_at(50), stray_hi = devnull_at(70); /* in the gap, above the last */
    ck_assert_int_eq(fcntl(stray, F_SETFD, 0), 0);
    ck_assert_int_eq(fcntl(stray_hi, F_SETFD, 0), 0);
    int also = devnull_at(60); /* listed too: two passed fds with a gap between */
    snprintf(cmd, sizeof cmd,
             "echo passed >/proc/self/fd/%d; [ -e /proc/self/fd/%d ] && echo LEAK;"
             "[ -e /proc/self/fd/%d ] && echo LEAK-HI;"
             "[ -e /proc/self/fd/%d ] && echo also-open; exit 0",
             w, stray, stray_hi, also);
    int pass[] = {also, w, w}; /* unsorted, with a repeat */
    struct loom_proc_options o = {.pass_fds = pass, .n_pass_fds = 3};
    ck_assert_int_eq(shell_output(cmd, &o, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "also-open\n");
    /* the parent's flags are untouched */
    ck_assert_int_eq(fcntl(w, F_GETFD), FD_CLOEXEC);
    close(w); /* the child exited: the last writer is gone, so the pipe ends */
    struct loom_stream *rs;
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), fds[0], 0, &rs), 0);
    read_to_end(rs, buf, sizeof buf);
    ck_assert_str_eq(buf, "passed\n");
    loom_stream_close(rs);
    close(stray);
    close(stray_hi);
    close(also);
    return 0;
}

START_TEST(test_pass_fds) { ck_assert_int_eq(test_run_task_opt(NULL, pass_fds_main, NULL), 0); }
END_TEST

static intptr_t pass_fds_bad_main(void *arg)
{
    const char *argv[] = {"/bin/true", NULL};
    struct loom_proc p;
    int closed = devnull_at(70);
    close(closed);
    int bad[] = {closed};
    struct loom_proc_options o = {.argv = argv, .pass_fds = bad, .n_pass_fds = 1};
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), -EBADF);
    ck_assert_int_eq(p.pid, 0);
    int stdio[] = {1};
    o.pass_fds = stdio;
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), -EINVAL);
    int neg[] = {-1};
    o.pass_fds = neg;
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), -EINVAL);
    o.pass_fds = NULL; /* a count without an array */
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), -EINVAL);
    int many[LOOM_PROC_MAX_PASS_FDS + 1];
    int fd = devnull_at(3);
    for (size_t i = 0; i < sizeof many / sizeof *many; i++)
        many[i] = fd;
    o.pass_fds = many;
    o.n_pass_fds = LOOM_PROC_MAX_PASS_FDS + 1;
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), -EINVAL);
    o.n_pass_fds = LOOM_PROC_MAX_PASS_FDS; /* the limit itself is fine */
    int rc = -1;
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), 0);
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, 0);
    loom_proc_close(&p);
    close(fd);
    return 0;
}

START_TEST(test_pass_fds_invalid)
{
    ck_assert_int_eq(test_run_task_opt(NULL, pass_fds_bad_main, NULL), 0);
}
END_TEST

/* --- stdio to the caller's fds --- */

static intptr_t stdio_fd_main(void *arg)
{
    char buf[256];
    struct loom_proc p;
    int rc = -1;
    /* stdout and stderr both into one file */
    int f = temp_file();
    struct loom_proc_options o = {
        .out = LOOM_PROC_FD, .out_fd = f, .err = LOOM_PROC_FD, .err_fd = f};
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &p, "echo out; echo err >&2", &o), 0);
    ck_assert_ptr_null(p.out);
    ck_assert_ptr_null(p.err);
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    loom_proc_close(&p);
    file_contents(f, buf, sizeof buf);
    ck_assert_str_eq(buf, "out\nerr\n");
    /* stdin from that file (the child's copy shares the file offset: rewind) */
    lseek(f, 0, SEEK_SET);
    struct loom_proc_options o2 = {.in = LOOM_PROC_FD, .in_fd = f};
    ck_assert_int_eq(shell_output("exec tr a-z A-Z", &o2, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "OUT\nERR\n");
    close(f);
    return 0;
}

START_TEST(test_stdio_fd) { ck_assert_int_eq(test_run_task_opt(NULL, stdio_fd_main, NULL), 0); }
END_TEST

/* Two children joined by a pipe the caller made (sh: producer | consumer). */
static intptr_t stdio_chain_main(void *arg)
{
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    struct loom_proc a, b;
    struct loom_proc_options oa = {.out = LOOM_PROC_FD, .out_fd = fds[1]};
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &a, "echo one; echo two", &oa), 0);
    struct loom_proc_options ob = {.in = LOOM_PROC_FD, .in_fd = fds[0], .out = LOOM_PROC_PIPE};
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &b, "exec tr a-z A-Z", &ob), 0);
    close(fds[0]); /* the children hold the only copies now: b sees EOF when a ends */
    close(fds[1]);
    char buf[64];
    read_to_end(b.out, buf, sizeof buf);
    ck_assert_str_eq(buf, "ONE\nTWO\n");
    int rc = -1;
    ck_assert_int_eq(loom_proc_wait(&a, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(loom_proc_wait(&b, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, 0);
    loom_proc_close(&a);
    loom_proc_close(&b);
    return 0;
}

START_TEST(test_stdio_chain)
{
    ck_assert_int_eq(test_run_task_opt(NULL, stdio_chain_main, NULL), 0);
}
END_TEST

/* The caller's fd may be one of 0-2, even one another stdio slot replaces:
 * stdout -> the caller's stderr number must be read before stderr is set up. */
static intptr_t stdio_swap_main(void *arg)
{
    int f = temp_file();
    int saved = dup(2);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_eq(dup2(f, 2), 2); /* our stderr is the file for a moment */
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    struct loom_proc p;
    /* child's stdout = our fd 2 (the file), child's stderr = the pipe */
    struct loom_proc_options o = {
        .out = LOOM_PROC_FD, .out_fd = 2, .err = LOOM_PROC_FD, .err_fd = fds[1]};
    int rc = loom_proc_spawn_shell(NULL, &p, "echo to-out; echo to-err >&2", &o);
    dup2(saved, 2);
    close(saved);
    ck_assert_int_eq(rc, 0);
    close(fds[1]);
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    loom_proc_close(&p);
    char buf[64];
    file_contents(f, buf, sizeof buf);
    ck_assert_str_eq(buf, "to-out\n");
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    ck_assert_int_eq(n, 7);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "to-err\n");
    close(fds[0]);
    close(f);
    return 0;
}

START_TEST(test_stdio_fd_low_numbers)
{
    ck_assert_int_eq(test_run_task_opt(NULL, stdio_swap_main, NULL), 0);
}
END_TEST

static intptr_t stdio_fd_bad_main(void *arg)
{
    struct loom_proc p;
    int closed = devnull_at(80);
    close(closed);
    struct loom_proc_options o = {.out = LOOM_PROC_FD, .out_fd = closed};
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &p, "echo x", &o), -EBADF);
    ck_assert_int_eq(p.pid, 0);
    struct loom_proc_options o2 = {.in = LOOM_PROC_FD, .in_fd = -1, .out = LOOM_PROC_PIPE};
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &p, "echo x", &o2), -EBADF);
    struct loom_proc_options o3 = {.in = LOOM_PROC_STDOUT}; /* only stderr may merge */
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &p, "true", &o3), -EINVAL);
    struct loom_proc_options o4 = {.err = (enum loom_proc_stdio)99};
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &p, "true", &o4), -EINVAL);
    return 0;
}

START_TEST(test_stdio_fd_invalid)
{
    ck_assert_int_eq(test_run_task_opt(NULL, stdio_fd_bad_main, NULL), 0);
}
END_TEST

/* --- sessions and process groups --- */

static intptr_t groups_main(void *arg)
{
    const char *argv[] = {"/bin/sleep", "30", NULL};
    struct loom_proc p, q;
    int rc;
    /* default: our group and session */
    struct loom_proc_options o = {.argv = argv};
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), 0);
    ck_assert_int_eq(getpgid(p.pid), getpgrp());
    ck_assert_int_eq(getsid(p.pid), getsid(0));
    ck_assert_int_eq(loom_proc_signal_group(&p, SIGTERM), -EINVAL);
    loom_proc_close(&p);
    /* a new session: leads its own session and group */
    o.new_session = true;
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), 0);
    ck_assert_int_eq(getsid(p.pid), p.pid);
    ck_assert_int_eq(getpgid(p.pid), p.pid);
    loom_proc_close(&p);
    /* a new group in our session, and a second child joining it */
    o.new_session = false;
    o.pgroup = LOOM_PROC_NEW_PGROUP;
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), 0);
    ck_assert_int_eq(getpgid(p.pid), p.pid);
    ck_assert_int_eq(getsid(p.pid), getsid(0));
    o.pgroup = p.pid;
    ck_assert_int_eq(loom_proc_spawn(NULL, &q, &o), 0);
    ck_assert_int_eq(getpgid(q.pid), p.pid);
    /* one killpg ends both */
    ck_assert_int_eq(loom_proc_signal_group(&q, SIGTERM), 0);
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, -SIGTERM);
    ck_assert_int_eq(loom_proc_wait(&q, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, -SIGTERM);
    /* reaped: the pid may be someone else's group by now */
    ck_assert_int_eq(loom_proc_signal_group(&p, SIGTERM), -ESRCH);
    loom_proc_close(&q);
    loom_proc_close(&p);
    /* contradictory or impossible settings */
    o.new_session = true;
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), -EINVAL);
    o.new_session = false;
    o.pgroup = -2;
    ck_assert_int_eq(loom_proc_spawn(NULL, &p, &o), -EINVAL);
    return 0;
}

START_TEST(test_groups) { ck_assert_int_eq(test_run_task_opt(NULL, groups_main, NULL), 0); }
END_TEST

/* A shell's own children hold its stdout pipe open: killing the shell alone
 * would leave them (the pipe would never end); killing its group ends all. */
static intptr_t group_kill_main(void *arg)
{
    struct loom_proc p;
    struct loom_proc_options o = {.out = LOOM_PROC_PIPE, .pgroup = LOOM_PROC_NEW_PGROUP};
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &p, "sleep 30 & sleep 30 & echo ready; wait", &o),
                     0);
    char line[32];
    ck_assert_int_eq(loom_stream_readline(p.out, line, sizeof line, LOOM_SEC(10)), 6);
    ck_assert_int_eq(loom_proc_kill(&p), 0); /* the shell only */
    int rc;
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, -SIGKILL);
    /* the sleeps still hold the pipe */
    ck_assert_int_eq(loom_stream_read_some(p.out, line, sizeof line, LOOM_MS(200)), -ETIMEDOUT);
    /* the shell is reaped, so signal_group refuses; kill its group directly as
     * the documentation says one should have before waiting */
    ck_assert_int_eq(loom_proc_signal_group(&p, SIGKILL), -ESRCH);
    ck_assert_int_eq(killpg(p.pid, SIGKILL), 0);
    ck_assert_int_eq(loom_stream_read_some(p.out, line, sizeof line, LOOM_SEC(10)), LOOM_EOF);
    loom_proc_close(&p);
    /* the documented order: signal the group while the shell is alive */
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &p, "sleep 30 & sleep 30 & echo ready; wait", &o),
                     0);
    ck_assert_int_eq(loom_stream_readline(p.out, line, sizeof line, LOOM_SEC(10)), 6);
    ck_assert_int_eq(loom_proc_signal_group(&p, SIGKILL), 0);
    ck_assert_int_eq(loom_stream_read_some(p.out, line, sizeof line, LOOM_SEC(10)), LOOM_EOF);
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, -SIGKILL);
    loom_proc_close(&p);
    return 0;
}

START_TEST(test_group_kill) { ck_assert_int_eq(test_run_task_opt(NULL, group_kill_main, NULL), 0); }
END_TEST

/* --- children that are gone before we look --- */

static intptr_t early_exit_main(void *arg)
{
    struct loom_proc p;
    int rc = -1;
    /* exited (and reaped) before a byte of its output was read: all still there */
    struct loom_proc_options o = {.out = LOOM_PROC_PIPE, .err = LOOM_PROC_PIPE};
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &p, "echo gone; echo e >&2; exit 4", &o), 0);
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    ck_assert_int_eq(rc, 4);
    char buf[64];
    read_to_end(p.out, buf, sizeof buf);
    ck_assert_str_eq(buf, "gone\n");
    read_to_end(p.err, buf, sizeof buf);
    ck_assert_str_eq(buf, "e\n");
    loom_proc_close(&p);
    /* writing to a child that exited without reading: an error, no SIGPIPE */
    struct loom_proc_options o2 = {.in = LOOM_PROC_PIPE};
    ck_assert_int_eq(loom_proc_spawn_shell(NULL, &p, "exit 0", &o2), 0);
    ck_assert_int_eq(loom_proc_wait(&p, LOOM_SEC(10), &rc), 0);
    static char big[1 << 20];
    int w = loom_stream_write(p.in, big, sizeof big);
    if (w == 0)
        w = loom_stream_flush(p.in, LOOM_SEC(10));
    ck_assert_int_eq(w, -EPIPE);
    loom_proc_close(&p);
    return 0;
}

START_TEST(test_early_exit) { ck_assert_int_eq(test_run_task_opt(NULL, early_exit_main, NULL), 0); }
END_TEST

int main(void)
{
    Suite *s = suite_create("proc_spawn");
    TCase *tc = test_tcase(s, "shell", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_shell);
    tcase_add_test(tc, test_shell_quote);
    tc = test_tcase(s, "pass_fds", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_pass_fds);
    tcase_add_test(tc, test_pass_fds_invalid);
    tc = test_tcase(s, "stdio_fd", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_stdio_fd);
    tcase_add_test(tc, test_stdio_chain);
    tcase_add_test(tc, test_stdio_fd_low_numbers);
    tcase_add_test(tc, test_stdio_fd_invalid);
    tc = test_tcase(s, "groups", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_groups);
    tcase_add_test(tc, test_group_kill);
    tc = test_tcase(s, "early_exit", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_early_exit);
    return test_main(s);
}
