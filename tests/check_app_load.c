/* check_app_load.c - loom-load driving real servers: loom-echo (pipe mode, and
 * the TTY mode under tmux with `q` and Ctrl-C), and a Python HTTP/1.1 server. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/harness.h"

/* SIGTERM and wait (<= 10 s); returns the exit status. */
static int server_stop(struct test_server *srv)
{
    kill(srv->pid, SIGTERM);
    return test_server_wait(srv, 10);
}

static void start_echo(struct test_server *srv)
{
    char path[512];
    char *argv[] = {(char *)test_build_path("bin/loom-echo", path, sizeof(path)),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    NULL};
    test_server_start(srv, argv);
}

static int run_load(char *out_argv[], char **out, double timeout)
{
    double elapsed;
    return test_run(out_argv, NULL, timeout, out, &elapsed);
}

START_TEST(echo_pipe_mode)
{
    struct test_server srv;
    start_echo(&srv);
    char path[512], target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", srv.port);
    char *argv[] = {(char *)test_build_path("bin/loom-load", path, sizeof(path)),
                    "-n",
                    "5000",
                    "-c",
                    "20",
                    "-s",
                    "100",
                    target,
                    NULL};
    char *out;
    int rc = run_load(argv, &out, 60);
    ck_assert_msg(rc == 0, "loom-load exit %d:\n%s", rc, out);
    ck_assert_contains(out, "loom-load: 5000 of 5000 requests");
    ck_assert_contains(out, "done 5000, errors 0");
    ck_assert_contains(out, "latency: min");
    free(out);
    ck_assert_int_eq(server_stop(&srv), 0);
}
END_TEST

static void start_http(struct test_server *srv)
{
    char *argv[] = {"python3", "tests/tools/http_keepalive.py", "0", NULL};
    test_server_start(srv, argv);
}

START_TEST(http_keepalive_mode)
{
    struct test_server srv;
    start_http(&srv);
    char path[512], target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", srv.port);
    char *argv[] = {(char *)test_build_path("bin/loom-load", path, sizeof(path)),
                    "-m",
                    "http",
                    "-n",
                    "500",
                    "-c",
                    "5",
                    target,
                    NULL};
    char *out;
    int rc = run_load(argv, &out, 60);
    ck_assert_msg(rc == 0, "loom-load exit %d:\n%s", rc, out);
    ck_assert_contains(out, "done 500, errors 0");
    free(out);
    char *bad[] = {argv[0], "-m", "http", "-n", "10", "-c", "2", "-p", "/missing", target, NULL};
    rc = run_load(bad, &out, 60);
    ck_assert_msg(rc == 1, "a 404 must count as an error (exit %d):\n%s", rc, out);
    ck_assert_contains(out, "HTTP error statuses: 10 (last 404)");
    free(out);
    server_stop(&srv);
}
END_TEST

START_TEST(refused)
{
    char path[512];
    char *argv[] = {(char *)test_build_path("bin/loom-load", path, sizeof(path)), "-n", "5",
                    "127.0.0.1:1", NULL};
    char *out;
    int rc = run_load(argv, &out, 30);
    ck_assert_int_eq(rc, 1);
    ck_assert_contains(out, "errors 5");
    ck_assert_contains(out, "Connection refused");
    free(out);
    char *help[] = {argv[0], "--help", NULL};
    ck_assert_int_eq(run_load(help, &out, 10), 0);
    ck_assert_contains(out, "usage: loom-load");
    free(out);
}
END_TEST

/* Each bad command line: exit 2, the offending argument named on the first line,
 * no usage dump, nothing run. */
static const struct bad_args {
    const char *args[6];
    const char *says;
} bad_args[] = {
    {{"-n", "abc", "127.0.0.1:80"}, "--requests: 'abc' is not a whole number"},
    {{"-n", "0", "127.0.0.1:80"}, "--requests: '0' is out of range"},
    {{"--requests=-5", "127.0.0.1:80"}, "--requests: '-5' is out of range"},
    {{"-c", "0", "127.0.0.1:80"}, "--concurrency: '0' is out of range"},
    {{"-c", "100001", "127.0.0.1:80"}, "--concurrency: '100001' is out of range"},
    {{"-c", "1x", "127.0.0.1:80"}, "--concurrency: '1x' is not a whole number"},
    {{"-t", "abc", "127.0.0.1:80"}, "--timeout: 'abc' is not a number of seconds"},
    {{"-t", "0", "127.0.0.1:80"}, "--timeout: '0' is out of range"},
    {{"-s", "0", "127.0.0.1:80"}, "--size: '0' is out of range"},
    {{"-m", "ftp", "127.0.0.1:80"}, "--mode: 'ftp' is not echo or http"},
    {{"-p", "x", "127.0.0.1:80"}, "--path: 'x' is not a path"},
    {{"-x", "127.0.0.1:80"}, "unknown option '-x'"},
    {{"--bogus", "127.0.0.1:80"}, "unknown option '--bogus'"},
    {{"-n"}, "--requests needs a value"},
    {{"-n", "5"}, "missing argument"},
    {{"127.0.0.1:80", "127.0.0.1:81"}, "unexpected argument '127.0.0.1:81'"},
    {{"127.0.0.1"}, "'127.0.0.1' is not HOST:PORT"},
    {{"127.0.0.1:99999"}, "'127.0.0.1:99999' is not HOST:PORT"},
    {{"127.0.0.1:-5"}, "'127.0.0.1:-5' is not HOST:PORT"},
    {{"127.0.0.1:http"}, "'127.0.0.1:http' is not HOST:PORT"},
    {{"-n", "5", "-n", "6", "127.0.0.1:80"}, "--requests is given twice"},
};

START_TEST(bad_arguments)
{
    const struct bad_args *c = &bad_args[_i];
    char path[512];
    char *argv[8] = {(char *)test_build_path("bin/loom-load", path, sizeof(path))};
    for (int i = 0; i < 6 && c->args[i]; i++)
        argv[i + 1] = (char *)c->args[i];
    char *out;
    int rc = run_load(argv, &out, 10);
    ck_assert_msg(rc == 2, "case %d (%s): exit %d, want 2:\n%s", _i, c->says, rc, out);
    ck_assert_msg(strncmp(out, "loom-load: ", 11) == 0 && strstr(out, c->says) &&
                      strstr(out, c->says) < strchr(out, '\n'),
                  "case %d: want \"loom-load: ...%s\" on the first line:\n%s", _i, c->says, out);
    ck_assert_contains(out, "Try 'loom-load --help'.");
    ck_assert_msg(!strstr(out, "usage:") && !strstr(out, "done "),
                  "case %d: no usage dump and no run:\n%s", _i, out);
    free(out);
}
END_TEST

/* Short options glued to their value, long ones with '=', and "--" before the
 * target are accepted (a refused port answers fast). */
START_TEST(option_spellings)
{
    char path[512];
    char *argv[] = {(char *)test_build_path("bin/loom-load", path, sizeof(path)),
                    "-n2",
                    "-c1",
                    "--timeout=5",
                    "--plain",
                    "--",
                    "127.0.0.1:1",
                    NULL};
    char *out;
    int rc = run_load(argv, &out, 30);
    ck_assert_msg(rc == 1, "exit %d:\n%s", rc, out);
    ck_assert_contains(out, "2 of 2 requests to 127.0.0.1:1 (echo) over 1 connections");
    free(out);
}
END_TEST

/* -c beyond the open-file limit is refused up front, naming the limit; the
 * same -c with fewer requests than connections needs fewer fds and runs. */
START_TEST(concurrency_over_fd_limit)
{
    char path[512], cmd[1024];
    test_build_path("bin/loom-load", path, sizeof(path));
    snprintf(cmd, sizeof(cmd), "ulimit -n 256 && exec '%s' -c 100000 -n 200000 127.0.0.1:1", path);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    char *out;
    int rc = run_load(argv, &out, 30);
    ck_assert_msg(rc == 2, "exit %d, want 2:\n%s", rc, out);
    ck_assert_contains(out, "loom-load: --concurrency: 100000 connections need 100032 open files, "
                            "but the limit is 256");
    free(out);
    snprintf(cmd, sizeof(cmd), "ulimit -n 256 && exec '%s' -c 100000 -n 3 127.0.0.1:1", path);
    rc = run_load(argv, &out, 30);
    ck_assert_msg(rc == 1, "exit %d, want 1 (3 refused requests):\n%s", rc, out);
    ck_assert_contains(out, "over 3 connections");
    free(out);
}
END_TEST

/* Reads "min A ms  p50 B ms  p90 C ms  p99 D ms  max E ms" and checks
 * min <= p50 <= p90 <= p99 <= max. A histogram bucket's middle value used to
 * be printed as is: p99 above max on small runs. */
static void check_latency_line(const char *out)
{
    const char *l = strstr(out, "latency: min");
    ck_assert_msg(l != NULL, "no latency line:\n%s", out);
    double v[5];
    ck_assert_msg(sscanf(l, "latency: min %lf ms p50 %lf ms p90 %lf ms p99 %lf ms max %lf ms",
                         &v[0], &v[1], &v[2], &v[3], &v[4]) == 5,
                  "unparsable latency line:\n%s", l);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(v[i] <= v[i + 1], "latency figures out of order:\n%s", l);
}

START_TEST(percentiles_within_min_max)
{
    struct test_server srv;
    start_echo(&srv);
    char path[512], target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", srv.port);
    /* One request: every percentile is that request's latency. */
    for (int run = 0; run < 8; run++) {
        char *argv[] = {(char *)test_build_path("bin/loom-load", path, sizeof(path)),
                        "-n",
                        run < 6 ? "1" : "300",
                        "-c",
                        "1",
                        target,
                        NULL};
        char *out;
        int rc = run_load(argv, &out, 60);
        ck_assert_msg(rc == 0, "loom-load exit %d:\n%s", rc, out);
        check_latency_line(out);
        free(out);
    }
    ck_assert_int_eq(server_stop(&srv), 0);
}
END_TEST

/* SIGINT in pipe mode: cancels cleanly and prints the summary. */
START_TEST(sigint_cancels)
{
    struct test_server srv;
    start_echo(&srv);
    char path[512], target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", srv.port);
    char *argv[] = {(char *)test_build_path("bin/loom-load", path, sizeof(path)),
                    "-n",
                    "1000000000",
                    "-c",
                    "10",
                    target,
                    NULL};
    pid_t load_pid;
    int p[2];
    ck_assert(pipe(p) == 0);
    load_pid = fork();
    if (load_pid == 0) {
        dup2(p[1], 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    char buf[8192] = "";
    size_t len = 0;
    double deadline = test_now() + 15;
    while (!strstr(buf, "progress:") && test_now() < deadline && len < sizeof(buf) - 1) {
        struct pollfd pf = {p[0], POLLIN, 0};
        if (poll(&pf, 1, 100) > 0) {
            ssize_t r = read(p[0], buf + len, sizeof(buf) - 1 - len);
            if (r <= 0)
                break;
            len += (size_t)r;
        }
        buf[len] = 0;
    }
    ck_assert_msg(strstr(buf, "progress:"), "no progress line: %s", buf);
    kill(load_pid, SIGINT);
    while (len < sizeof(buf) - 1) {
        struct pollfd pf = {p[0], POLLIN, 0};
        if (poll(&pf, 1, 10000) <= 0)
            break;
        ssize_t r = read(p[0], buf + len, sizeof(buf) - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = 0;
    close(p[0]);
    int status;
    ck_assert_int_eq(waitpid(load_pid, &status, 0), load_pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
    ck_assert_contains(buf, "loom-load: cancelled after");
    ck_assert_int_eq(server_stop(&srv), 0);
}
END_TEST

/* Run a shell command, return its stdout (malloc'd). */
static char *sh(const char *cmd)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    char *out;
    double e;
    test_run(argv, NULL, 20, &out, &e);
    return out;
}

/* Poll the tmux pane until it contains every needle (<= timeout_s); returns the
 * last capture (malloc'd). tmux runs on a private socket (-L loomtest). */
static char *pane_wait(const char *session, const char *n1, const char *n2, double timeout_s)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "tmux -L loomtest capture-pane -p -t %s", session);
    double deadline = test_now() + timeout_s;
    for (;;) {
        char *pane = sh(cmd);
        if ((strstr(pane, n1) && strstr(pane, n2)) || test_now() > deadline)
            return pane;
        free(pane);
        usleep(100000);
    }
}

static void tty_cancel_with(const char *key, const char *session)
{
    test_require_tool("tmux", "tmux", "the terminal tests run loom-load in a tmux pane");
    struct test_server srv;
    start_echo(&srv);
    char path[512], cmd[1024];
    test_build_path("bin/loom-load", path, sizeof(path));
    /* After loom-load: its status, and whether the terminal is back in canonical mode. */
    snprintf(cmd, sizeof(cmd),
             "tmux -L loomtest new-session -d -s %s -x 160 -y 20 "
             "'%s -n 1000000000 -c 10 127.0.0.1:%d; echo EXIT=$?; "
             "stty -a | grep -o -- \"[-]*icanon\"; sleep 30'",
             session, path, srv.port);
    free(sh(cmd));
    char *pane = pane_wait(session, "req/s", "(q: quit)", 15);
    ck_assert_msg(strstr(pane, "req/s") && strstr(pane, "(q: quit)"),
                  "no progress bar on the terminal:\n%s", pane);
    free(pane);
    snprintf(cmd, sizeof(cmd), "tmux -L loomtest send-keys -t %s %s", session, key);
    free(sh(cmd));
    pane = pane_wait(session, "EXIT=", "icanon", 15);
    snprintf(cmd, sizeof(cmd), "tmux -L loomtest kill-session -t %s", session);
    free(sh(cmd));
    ck_assert_contains(pane, "loom-load: cancelled after");
    ck_assert_contains(pane, "EXIT=1");
    ck_assert_msg(!strstr(pane, "-icanon"), "terminal left in raw mode:\n%s", pane);
    free(pane);
    ck_assert_int_eq(server_stop(&srv), 0);
}

START_TEST(tty_q_cancels) { tty_cancel_with("q", "loadq"); }
END_TEST

START_TEST(tty_ctrl_c_cancels) { tty_cancel_with("C-c", "loadc"); }
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("app_load");
    TCase *tc = test_tcase(s, "pipe", 120);
    tcase_add_test(tc, echo_pipe_mode);
    tcase_add_test(tc, http_keepalive_mode);
    tcase_add_test(tc, refused);
    tcase_add_loop_test(tc, bad_arguments, 0, (int)(sizeof(bad_args) / sizeof(bad_args[0])));
    tcase_add_test(tc, option_spellings);
    tcase_add_test(tc, concurrency_over_fd_limit);
    tcase_add_test(tc, percentiles_within_min_max);
    tcase_add_test(tc, sigint_cancels);
    tc = test_tcase(s, "tty", 120);
    tcase_add_test(tc, tty_q_cancels);
    tcase_add_test(tc, tty_ctrl_c_cancels);
    return test_main(s);
}
