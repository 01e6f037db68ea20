/* check_demos_net.c - smoke tests for the demos of chapters 3 and 8.
 *
 * Every demo is run as a real program. Servers listen on 127.0.0.1 port 0 and
 * announce "listening on ADDR:PORT" on stderr; the tests drive them with plain
 * blocking client sockets (each read bounded by a timeout), send signals, and
 * check the printed lines, the bytes echoed and the timing relations the
 * listing is about, with tolerances. Interactive demos get their stdin from a
 * pipe the test writes to step by step. Runs once (check_demos_* suites are not
 * repeated per backend). */
#include "harness/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- a demo process with a stdin pipe and its output captured --- */

struct proc {
    pid_t pid;
    int in;    /* write end of its stdin (-1 once closed) */
    int out;   /* read end of its stdout + stderr */
    char *buf; /* everything it printed so far, NUL-terminated */
    size_t len, cap;
    bool eof;
};

static void proc_start(struct proc *p, const char *rel, ...)
{
    char path[512];
    char *argv[16] = {(char *)test_build_path(rel, path, sizeof path)};
    va_list ap;
    va_start(ap, rel);
    int n = 1;
    for (char *a; n < 15 && (a = va_arg(ap, char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    int in[2], out[2];
    ck_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
    signal(SIGPIPE, SIG_IGN);
    *p = (struct proc){.pid = fork(), .in = in[1], .out = out[0], .cap = 4096};
    ck_assert(p->pid >= 0);
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->buf = calloc(1, p->cap);
}

/* Read what is there, waiting at most timeout_s for something. */
static void proc_pump(struct proc *p, double timeout_s)
{
    struct pollfd pf = {p->out, POLLIN, 0};
    if (p->eof || poll(&pf, 1, (int)(timeout_s * 1000)) <= 0)
        return;
    if (p->len + 4096 + 1 > p->cap) {
        p->cap = (p->cap + 4096) * 2;
        p->buf = realloc(p->buf, p->cap);
    }
    ssize_t r = read(p->out, p->buf + p->len, 4096);
    if (r <= 0)
        p->eof = true;
    else
        p->len += (size_t)r;
    p->buf[p->len] = 0;
}

/* Wait (<= timeout_s) until the output from offset `from` contains needle;
 * fails the test otherwise. Returns the offset just past the match. */
static size_t proc_expect_from(struct proc *p, size_t from, const char *needle, double timeout_s)
{
    double deadline = test_now() + timeout_s;
    const char *hit;
    while (!(hit = strstr(p->buf + from, needle)) && !p->eof && test_now() < deadline)
        proc_pump(p, deadline - test_now());
    ck_assert_msg(hit != NULL, "expected \"%s\" in output:\n%s", needle, p->buf);
    return (size_t)(hit - p->buf) + strlen(needle);
}
#define proc_expect(p, needle) proc_expect_from((p), 0, (needle), 10)

static void proc_write(struct proc *p, const char *s)
{
    ck_assert(p->in >= 0 && write(p->in, s, strlen(s)) == (ssize_t)strlen(s));
}

static void proc_close_stdin(struct proc *p)
{
    if (p->in >= 0)
        close(p->in);
    p->in = -1;
}

/* Collect the rest of the output and the exit status (code, or -signal). */
static int proc_wait(struct proc *p, double timeout_s)
{
    double deadline = test_now() + timeout_s;
    while (!p->eof && test_now() < deadline)
        proc_pump(p, deadline - test_now());
    if (!p->eof)
        kill(p->pid, SIGKILL);
    int status = 0;
    waitpid(p->pid, &status, 0);
    proc_close_stdin(p);
    close(p->out);
    ck_assert_msg(p->eof, "demo did not exit within %.1f s; output:\n%s", timeout_s, p->buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

static void proc_free(struct proc *p) { free(p->buf); }

/* The port of a server demo, from its "listening on ADDR:PORT" line. */
static int proc_port(struct proc *p)
{
    size_t end = proc_expect(p, "listening on ");
    while (!strchr(p->buf + end, '\n') && !p->eof)
        proc_pump(p, 5);
    char addr[128];
    snprintf(addr, sizeof addr, "%.*s", (int)strcspn(p->buf + end, "\n"), p->buf + end);
    const char *colon = strrchr(addr, ':');
    ck_assert_msg(colon != NULL, "no port in: %s", p->buf);
    return atoi(colon + 1);
}

#define IN_ORDER TEST_IN_ORDER

/* The number right after the first prefix. */
static double number_after(const char *out, const char *prefix)
{
    const char *q = strstr(out, prefix);
    ck_assert_msg(q != NULL, "no \"%s\" in output:\n%s", prefix, out);
    return strtod(q + strlen(prefix), NULL);
}

/* --- clients --- */

static int cli_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect: %s",
                  strerror(errno));
    return fd;
}

static int cli_local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    return ntohs(a.sin_port);
}

static void cli_send(int fd, const char *s)
{
    ck_assert(send(fd, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s));
}

/* One line (with its '\n') into a static buffer; "" at EOF; fails after 5 s. */
static const char *cli_line(int fd)
{
    static char line[1024];
    size_t n = 0;
    while (n + 1 < sizeof line) {
        ssize_t r = recv(fd, line + n, 1, 0);
        ck_assert_msg(r >= 0, "recv: %s (got \"%.*s\")", strerror(errno), (int)n, line);
        if (r == 0 || line[n++] == '\n')
            break;
    }
    line[n] = 0;
    return line;
}

/* Whether data (or EOF) arrives within timeout_s. */
static bool cli_readable(int fd, double timeout_s)
{
    struct pollfd pf = {fd, POLLIN, 0};
    return poll(&pf, 1, (int)(timeout_s * 1000)) > 0;
}

static void cli_expect_line(int fd, const char *want)
{
    const char *got = cli_line(fd);
    ck_assert_msg(strcmp(got, want) == 0, "expected line \"%s\", got \"%s\"", want, got);
}

/* Read lines until EOF; assert want was one of them. */
static void cli_expect_before_eof(int fd, const char *want)
{
    bool seen = false;
    const char *line;
    while (*(line = cli_line(fd)))
        seen = seen || strcmp(line, want) == 0;
    ck_assert_msg(seen, "no line \"%s\" before EOF", want);
}

/* The CPU share a spinning process can expect: 1 on an idle machine, about
 * cpus / (load + 1) on a loaded one. */
static double cpu_share(void)
{
    double load[1];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (getloadavg(load, 1) != 1 || load[0] + 1 <= (double)cpus)
        return 1;
    return (double)cpus / (load[0] + 1);
}

/* --- chapter 3 --- */

START_TEST(test_3_1)
{
    struct proc p;
    proc_start(&p, "demos/ch03/listing_3_1", "--port", "0", NULL);
    int fd = cli_connect(proc_port(&p));
    char want[64];
    snprintf(want, sizeof want, "I got a connection from ('127.0.0.1', %d)!", cli_local_port(fd));
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    ck_assert_contains(p.buf, "Connection: <socket fd=");
    ck_assert_contains(p.buf, want);
    close(fd);
    proc_free(&p);
}
END_TEST

START_TEST(test_3_2)
{
    struct proc p;
    proc_start(&p, "demos/ch03/listing_3_2", "--port", "0", NULL);
    int fd = cli_connect(proc_port(&p));
    /* dribbled: each recv(2) sees one piece */
    const char *pieces[] = {"he", "ll", "o\r", "\n"}, *shown[] = {"he", "ll", "o\\r", "\\n"};
    for (int i = 0; i < 4; i++) {
        cli_send(fd, pieces[i]);
        char want[32];
        snprintf(want, sizeof want, "I got data: b'%s'!", shown[i]);
        proc_expect(&p, want);
    }
    cli_expect_line(fd, "hello\r\n");
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    ck_assert_contains(p.buf, "All the data is: b'hello\\r\\n'");
    close(fd);
    proc_free(&p);
}
END_TEST

/* The blocking problem: B's message waits until A speaks again. */
START_TEST(test_3_3)
{
    struct proc p;
    proc_start(&p, "demos/ch03/listing_3_3", "--port", "0", "--clients", "2", NULL);
    int port = proc_port(&p);
    int a = cli_connect(port);
    cli_send(a, "one\r\n");
    cli_expect_line(a, "one\r\n");
    int b = cli_connect(port);
    cli_send(b, "two\r\n");
    ck_assert_msg(!cli_readable(b, 0.7), "B was answered although A is silent");
    cli_send(a, "again\r\n");
    cli_expect_line(a, "again\r\n");
    cli_expect_line(b, "two\r\n");
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    IN_ORDER(p.buf, "All the data is: b'one\\r\\n'", "All the data is: b'again\\r\\n'",
             "All the data is: b'two\\r\\n'");
    close(a);
    close(b);
    proc_free(&p);
}
END_TEST

START_TEST(test_3_5)
{
    struct proc p;
    proc_start(&p, "demos/ch03/listing_3_5", "--port", "0", NULL);
    double t0 = test_now();
    ck_assert_int_eq(proc_wait(&p, 10), 1);
    ck_assert_msg(test_now() - t0 < 2, "accept did not fail at once");
    ck_assert_contains(p.buf, "BlockingIOError");
    ck_assert_contains(p.buf, "(EAGAIN)");
    proc_free(&p);
}
END_TEST

/* Echo the same message on n clients at once; the server must answer each. */
static void echo_clients(int port, int n, const char *tag)
{
    int fds[8];
    char msg[64];
    for (int i = 0; i < n; i++)
        fds[i] = cli_connect(port);
    for (int round = 0; round < 2; round++)
        for (int i = n - 1; i >= 0; i--) {
            snprintf(msg, sizeof msg, "%s %d %d\r\n", tag, i, round);
            cli_send(fds[i], msg);
            cli_expect_line(fds[i], msg);
        }
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

/* Busy polling: echo works, and CPU time ~ wall time. */
START_TEST(test_3_6)
{
    struct proc p;
    proc_start(&p, "demos/ch03/listing_3_6", "--port", "0", "--seconds", "1.5", NULL);
    echo_clients(proc_port(&p), 3, "spin");
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    ck_assert_int_eq(test_count(p.buf, "I got a connection!"), 3);
    ck_assert_int_eq(test_count(p.buf, "Client disconnected."), 3);
    double wall = number_after(p.buf, "Wall time: "), cpu = number_after(p.buf, "CPU time: ");
    ck_assert(wall >= 1.4 && wall < 3);
    /* A spinning process takes all the CPU it can get; on a loaded machine less. */
    double want = 0.5 * cpu_share();
    ck_assert_msg(cpu >= want * wall, "busy loop used only %.2f s CPU in %.2f s", cpu, wall);
    proc_free(&p);
}
END_TEST

/* The selector: several clients echoed, "No events yet." when idle, ~0 CPU. */
START_TEST(test_3_7)
{
    struct proc p;
    proc_start(&p, "demos/ch03/listing_3_7", "--port", "0", "--seconds", "2.5", NULL);
    int esc = cli_connect(proc_port(&p)); /* escape sequences: echoed, but not printed raw */
    cli_send(esc, "\033[2J\033]0;x\007esc\r\n");
    cli_expect_line(esc, "\033[2J\033]0;x\007esc\r\n");
    close(esc);
    echo_clients(proc_port(&p), 4, "sel");
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    ck_assert_int_eq(test_count(p.buf, "Connection from ('127.0.0.1', "), 5);
    ck_assert_int_eq(test_count(p.buf, "Received data: sel "), 8);
    ck_assert_int_eq(test_count(p.buf, "Connection closed."), 5);
    ck_assert_contains(p.buf, "Received data: ?[2J?]0;x?esc\r\n");
    ck_assert_msg(!strchr(p.buf, '\033'), "an escape sequence was printed:\n%s", p.buf);
    ck_assert_msg(test_count(p.buf, "No events yet.") >= 1, "no idle timeout line:\n%s", p.buf);
    double wall = number_after(p.buf, "Wall time: "), cpu = number_after(p.buf, "CPU time: ");
    ck_assert(wall >= 2.4 && wall < 4);
    ck_assert_msg(cpu < 0.05 * wall, "selector used %.3f s CPU in %.2f s", cpu, wall);
    proc_free(&p);
}
END_TEST

START_TEST(test_3_8)
{
    struct proc p;
    proc_start(&p, "demos/ch03/listing_3_8", "--port", "0", "--clients", "5", NULL);
    echo_clients(proc_port(&p), 5, "task");
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    ck_assert_int_eq(test_count(p.buf, "Got a connection from 127.0.0.1:"), 5);
    IN_ORDER(p.buf, "Accepted 5 clients", "All echo tasks finished.");
    proc_free(&p);
}
END_TEST

START_TEST(test_3_9)
{
    struct proc p;
    proc_start(&p, "demos/ch03/listing_3_9", NULL);
    proc_expect(&p, "Starting sleep for 10 sec...");
    double t0 = test_now();
    kill(p.pid, SIGINT);
    ck_assert_int_eq(proc_wait(&p, 10), 1);
    ck_assert_msg(test_now() - t0 < 2, "SIGINT did not end the program at once");
    IN_ORDER(p.buf, "Starting sleep for 10 sec...", "Got SIGINT!", "Cancelling 1 tasks...",
             "main ended with CancelledError");
    ck_assert_msg(!strstr(p.buf, "End sleeping"), "delay was not cancelled:\n%s", p.buf);
    proc_free(&p);
}
END_TEST

/* "boom" fails one client only; SIGTERM gives the rest 2 s (scaled 0.25: 0.5 s). */
START_TEST(test_3_10)
{
    struct proc p;
    proc_start(&p, "demos/ch03/listing_3_10", "--port", "0", "--scale", "0.25", NULL);
    int port = proc_port(&p);
    int a = cli_connect(port), b = cli_connect(port);
    cli_send(a, "hi\r\n");
    cli_expect_line(a, "hi\r\n");
    cli_send(b, "boom\r\n");
    cli_expect_line(b, ""); /* closed by the server */
    cli_send(a, "still here\r\n");
    cli_expect_line(a, "still here\r\n");
    double t0 = test_now();
    kill(p.pid, SIGTERM);
    cli_expect_line(a, ""); /* cancelled after its grace period */
    double waited = test_now() - t0;
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    ck_assert_msg(waited >= 0.4 && waited < 2.5, "A closed after %.2f s, expected ~0.5", waited);
    ck_assert_contains(p.buf, "ERROR: echo task: Unexpected network error");
    IN_ORDER(p.buf, "Got SIGTERM, shutting down.", "closing 2 echo task(s)",
             "Echo task 1 timed out after 2 s and was cancelled.",
             "Echo task 2 finished: ECONNABORTED", "Shutdown complete.");
    close(a);
    close(b);
    proc_free(&p);
}
END_TEST

/* More clients over its life than its task table holds: it goes on serving;
 * and SIGTERM with several silent clients ends within one grace period for
 * all (the table used to fill for good after 256 clients, and each silent
 * client used to add its own 2 s to the shutdown). */
START_TEST(test_3_10_many)
{
    struct proc p;
    proc_start(&p, "demos/ch03/listing_3_10", "--port", "0", "--scale", "0.25", NULL);
    int port = proc_port(&p);
    for (int i = 0; i < 300; i++) { /* each one ends at once: its task finishes */
        int fd = cli_connect(port);
        cli_send(fd, "x\r\n");
        cli_expect_line(fd, "x\r\n");
        close(fd);
    }
    int silent[6];
    for (int i = 0; i < 6; i++) {
        silent[i] = cli_connect(port);
        cli_send(silent[i], "hi\r\n");
        cli_expect_line(silent[i], "hi\r\n"); /* served, then silent */
    }
    double t0 = test_now();
    kill(p.pid, SIGTERM);
    for (int i = 0; i < 6; i++)
        cli_expect_line(silent[i], ""); /* cancelled after the grace period */
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    double took = test_now() - t0;
    ck_assert_msg(took < 2, "shutdown took %.2f s with 6 silent clients, expected ~0.5", took);
    ck_assert_contains(p.buf, "Shutdown complete.");
    for (int i = 0; i < 6; i++)
        close(silent[i]);
    proc_free(&p);
}
END_TEST

/* --- chapter 8 --- */

/* Run demos/<rel> with stdin input and up to two arguments; assert exit 0. */
static char *run(const char *rel, const char *input, double *elapsed, const char *arg1,
                 const char *arg2)
{
    return test_run_demo(rel, &(struct test_demo){.input = input, .timeout_s = 20}, elapsed, arg1,
                         arg1 ? arg2 : NULL, NULL);
}

/* The blocking read starves the loop: a delay(1) never starts, however long. */
START_TEST(test_8_4)
{
    struct proc p;
    proc_start(&p, "demos/ch08/listing_8_4", "--scale", "0.2", NULL);
    proc_expect(&p, "Enter a time to sleep: ");
    proc_write(&p, "1\n");
    size_t at = proc_expect_from(&p, 0, "Enter a time to sleep: Enter a time to sleep: ", 10);
    proc_pump(&p, 0.8); /* 4x the scaled delay: it would have started and ended */
    ck_assert_msg(!strstr(p.buf, "Starting sleep"), "a task ran:\n%s", p.buf);
    proc_write(&p, "2\n");
    proc_expect_from(&p, at, "Enter a time to sleep: ", 10);
    proc_close_stdin(&p);
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    ck_assert_contains(p.buf, "2 delay task(s) created, 0 started.");
    ck_assert_msg(!strstr(p.buf, "Starting sleep"), "a task ran:\n%s", p.buf);
    proc_free(&p);
}
END_TEST

START_TEST(test_8_5)
{
    struct proc p;
    proc_start(&p, "demos/ch08/listing_8_5", "--scale", "0.5", NULL);
    proc_write(&p, "alpha\n");
    proc_expect(&p, "Read line: alpha\n");
    proc_pump(&p, 0.5);
    proc_write(&p, "beta\n");
    proc_expect(&p, "Read line: beta\n");
    proc_close_stdin(&p);
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    /* ~0.5 s between the lines at 50 ms a tick: the loop ran while main waited. */
    ck_assert_int_ge((int)number_after(p.buf, "the ticker ran "), 4);
    proc_free(&p);
}
END_TEST

/* Delays run while more lines are read: delay(1) ends while delay(3) runs and
 * before stdin is closed. */
START_TEST(test_8_6)
{
    struct proc p;
    proc_start(&p, "demos/ch08/listing_8_6", "--scale", "0.2", NULL);
    proc_write(&p, "3\n");
    proc_expect(&p, "Starting sleep for 3 sec...");
    proc_write(&p, "1\n");
    proc_expect(&p, "End sleeping for 1 sec.");
    ck_assert_msg(!strstr(p.buf, "End sleeping for 3 sec."), "order:\n%s", p.buf);
    proc_close_stdin(&p);
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    IN_ORDER(p.buf, "Starting sleep for 3 sec...", "Starting sleep for 1 sec...",
             "End sleeping for 1 sec.", "EOF on stdin; waiting for 2 delay task(s).",
             "End sleeping for 3 sec.");
    proc_free(&p);
}
END_TEST

START_TEST(test_8_7)
{
    char *out = run("demos/ch08/listing_8_7", NULL, NULL, NULL, NULL);
    IN_ORDER(out, "save_cursor_position     \\0337", "restore_cursor_position  \\0338",
             "move_to_top_of_screen    \\033[H", "delete_line              \\033[2K",
             "clear_line               \\033[2K\\033[0G", "move_back_one_char       \\033[1D",
             "move_to_bottom_of_screen \\033[24;0H");
    IN_ORDER(out, "\0337\033[H\033[2K[status line drawn at the top]\0338", "oops",
             "\033[1D \033[1D", "done\n", "\033[2K\033[0Gline cleared", "\033[24;0Hnow on");
    free(out);
}
END_TEST

START_TEST(test_8_8)
{
    char *out = run("demos/ch08/listing_8_8",
                    "abc\x7f"
                    "d\nhel\x7f\x7f\x7fxy\nquit\nignored\n",
                    NULL, NULL, NULL);
    IN_ORDER(out, "> abc\033[1D \033[1Dd", "You entered: abd\n", "You entered: xy\n",
             "You entered: quit\n", "Bye.");
    ck_assert_msg(!strstr(out, "ignored"), "read past quit:\n%s", out);
    free(out);
    out = run("demos/ch08/listing_8_8", "no newline at the end", NULL, NULL, NULL);
    IN_ORDER(out, "You entered: no newline at the end\n", "Bye.");
    free(out);
}
END_TEST

START_TEST(test_8_9)
{
    char *out = run("demos/ch08/listing_8_9", NULL, NULL, NULL, NULL);
    ck_assert_int_eq(test_count(out, "redraw:"), 8);
    IN_ORDER(out, "A appends \"A 1\"", "B appends \"B 1\"", "redraw: [A 1] [B 1]\n",
             "A: append of \"A 1\" returned after its redraw", "redraw: [B 1] [A 2] [B 2]\n",
             "final contents (3 of 3 slots): [B 3] [A 4] [B 4]");
    free(out);
    out = run("demos/ch08/listing_8_9", NULL, NULL, "--size", "5");
    ck_assert_contains(out, "final contents (5 of 5 slots): [B 2] [A 3] [B 3] [A 4] [B 4]");
    free(out);
}
END_TEST

/* The TUI through a pipe: both sleeps run at once, messages redrawn at the top. */
START_TEST(test_8_10)
{
    double elapsed;
    char *out = run("demos/ch08/listing_8_10", "2\n1\n", &elapsed, NULL, NULL);
    ck_assert_contains(out, "\033[2J\033[24;0H");
    IN_ORDER(out, "\0337\033[H\033[2KStart sleeping for 2 sec.\n\0338",
             "\033[2KStart sleeping for 1 sec.\n\033[2KEnd sleeping for 1 sec.\n"
             "\033[2KEnd sleeping for 2 sec.\n\0338");
    ck_assert_msg(elapsed >= 1.95 && elapsed < 2.8, "took %.2f s: concurrent is 2, in turn 3",
                  elapsed);
    free(out);
}
END_TEST

START_TEST(test_8_12)
{
    struct proc p;
    proc_start(&p, "demos/ch08/listing_8_12", "--port", "0", NULL);
    int port = proc_port(&p);
    int a = cli_connect(port);
    cli_expect_line(a, "Welcome! Users online: 1!\n");
    cli_expect_line(a, "New user connected!\n");
    int b = cli_connect(port);
    cli_expect_line(b, "Welcome! Users online: 2!\n");
    cli_expect_line(b, "New user connected!\n");
    cli_expect_line(a, "New user connected!\n");
    cli_send(b, "echo ");
    cli_send(b, "me\nand me\n");
    cli_expect_line(b, "echo me\n");
    cli_expect_line(b, "and me\n");
    close(b);
    cli_expect_line(a, "Client disconnected. Users left online: 1!\n");
    kill(p.pid, SIGTERM);
    cli_expect_line(a, "");
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    ck_assert_contains(p.buf, "Server stopped.");
    close(a);
    proc_free(&p);
}
END_TEST

static int chat_join(int port, const char *name, const char *welcome)
{
    char line[128];
    int fd = cli_connect(port);
    snprintf(line, sizeof line, "CONNECT %s\n", name);
    cli_send(fd, line);
    cli_expect_line(fd, welcome);
    snprintf(line, sizeof line, "%s connected!\n", name);
    cli_expect_line(fd, line);
    return fd;
}

/* The chat protocol, and the book's quirk: a user who left is still counted. */
START_TEST(test_8_13)
{
    struct proc p;
    proc_start(&p, "demos/ch08/listing_8_13", "--port", "0", NULL);
    int port = proc_port(&p);
    int a = chat_join(port, "alice", "Welcome! Users connected: 1!\n");
    int b = chat_join(port, "bob", "Welcome! Users connected: 2!\n");
    cli_expect_line(a, "bob connected!\n");
    cli_send(b, "hi all\n");
    cli_expect_line(a, "bob: hi all\n");
    cli_expect_line(b, "bob: hi all\n");
    close(b);
    cli_expect_line(a, "bob has left the chat\n");
    int c = chat_join(port, "carol", "Welcome! Users connected: 3!\n"); /* the quirk */
    cli_expect_line(a, "carol connected!\n");
    int bad = cli_connect(port);
    cli_send(bad, "HELLO there\n");
    cli_expect_line(bad, ""); /* invalid command: disconnected */
    kill(p.pid, SIGTERM);     /* graceful: reads end, everyone leaves in some order */
    cli_expect_before_eof(a, "alice has left the chat\n");
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    ck_assert_contains(p.buf, "Got invalid command from client, disconnecting.");
    ck_assert_contains(p.buf, "Server stopped.");
    close(a);
    close(c);
    close(bad);
    proc_free(&p);
}
END_TEST

/* A silent user is dropped after the idle timeout (60 s scaled to 1 s). */
START_TEST(test_8_13_idle)
{
    struct proc p;
    proc_start(&p, "demos/ch08/listing_8_13", "--port", "0", "--scale", "0.0167", NULL);
    int silent = cli_connect(proc_port(&p)); /* never sends CONNECT: it used to stay forever */
    int a = chat_join(proc_port(&p), "dave", "Welcome! Users connected: 1!\n");
    double t0 = test_now();
    cli_expect_line(a, "");
    double idle = test_now() - t0;
    ck_assert_msg(idle >= 0.8 && idle < 3, "dropped after %.2f s, expected ~1", idle);
    cli_expect_line(silent, ""); /* closed by now too */
    close(silent);
    kill(p.pid, SIGTERM);
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    ck_assert_contains(p.buf, "Error reading from client dave: Connection timed out");
    close(a);
    proc_free(&p);
}
END_TEST

/* The server's resident memory in KiB. */

/* A user who never reads while another floods the room: removed once far
 * behind, and the server's memory stays bounded (it grew by every message
 * for the user who did not read: 570 MB in 4 s). */
START_TEST(test_8_13_never_reads)
{
    struct proc p;
    proc_start(&p, "demos/ch08/listing_8_13", "--port", "0", NULL);
    int port = proc_port(&p);
    int lazy = chat_join(port, "lazy", "Welcome! Users connected: 1!\n");
    int talk = chat_join(port, "talk", "Welcome! Users connected: 2!\n");
    int small = 4096;
    setsockopt(lazy, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    fcntl(talk, F_SETFL, O_NONBLOCK);
    static char lines[64 * 1000], sink[1 << 16];
    for (size_t i = 0; i < sizeof lines; i++)
        lines[i] = i % 1000 == 999 ? '\n' : 'x';
    size_t off = 0, sent = 0;
    double deadline = test_now() + 20;
    /* Talk (and read what comes back) until the server gives up on lazy. */
    while (!strstr(p.buf, "Too far behind, disconnecting client lazy") && sent < (256u << 20) &&
           test_now() < deadline) {
        struct pollfd pf = {talk, POLLIN | POLLOUT, 0};
        poll(&pf, 1, 100);
        while (recv(talk, sink, sizeof sink, 0) > 0)
            ;
        ssize_t w = send(talk, lines + off, sizeof lines - off, MSG_NOSIGNAL);
        if (w > 0) {
            off = (off + (size_t)w) % sizeof lines;
            sent += (size_t)w;
        }
        proc_pump(&p, 0);
    }
    long rss = test_proc_status_kib(p.pid, "VmRSS:");
    ck_assert_contains(p.buf, "Too far behind, disconnecting client lazy");
    ck_assert_msg(rss > 0 && rss < 64 * 1024, "server RSS %ld KiB after %zu bytes", rss, sent);
    kill(p.pid, SIGTERM);
    ck_assert_int_eq(proc_wait(&p, 10), 0);
    close(lazy);
    close(talk);
    proc_free(&p);
}
END_TEST

/* The chat server (8.13) and the client TUI (8.14) logged in as alice, stdin
 * from a pipe kept open; the server's port. */
static int chat_tui_start(struct proc *srv, struct proc *cli)
{
    proc_start(srv, "demos/ch08/listing_8_13", "--port", "0", NULL);
    char port[16];
    snprintf(port, sizeof port, "%d", proc_port(srv));
    proc_start(cli, "demos/ch08/listing_8_14", "--port", port, NULL);
    proc_expect(cli, "Enter username: ");
    proc_write(cli, "alice\n");
    proc_expect(cli, "alice connected!\n");
    return proc_port(srv);
}

/* The client TUI against the chat server. */
START_TEST(test_8_14)
{
    struct proc srv, cli;
    int port = chat_tui_start(&srv, &cli);
    ck_assert_contains(cli.buf, "\033[2Kalice connected!\n");
    ck_assert_contains(cli.buf, "\033[2KWelcome! Users connected: 1!\n");
    int bob = chat_join(port, "bob", "Welcome! Users connected: 2!\n");
    proc_expect(&cli, "\033[2Kbob connected!\n");
    cli_send(bob, "hi alice\n");
    proc_expect(&cli, "\033[2Kbob: hi alice\n");
    cli_expect_line(bob, "bob: hi alice\n");
    proc_write(&cli, "hello b\x7f"
                     "bob\n"); /* typed with a correction */
    cli_expect_line(bob, "alice: hello bob\n");
    proc_expect(&cli, "\033[2Kalice: hello bob\n");
    kill(srv.pid, SIGTERM); /* FIRST_COMPLETED: the socket ends, stdin is still open */
    ck_assert_int_eq(proc_wait(&cli, 10), 0);
    ck_assert_contains(cli.buf, "\033[2KServer closed connection.\n");
    ck_assert_int_eq(proc_wait(&srv, 10), 0);
    close(bob);
    proc_free(&cli);
    proc_free(&srv);
}
END_TEST

/* What other users send reaches this terminal made visible (no escape
 * sequence gets through), and a line longer than a row of the store comes in
 * pieces (one used to end the client with "Server closed connection."). */
START_TEST(test_8_14_hostile)
{
    struct proc srv, cli;
    int bob = chat_join(chat_tui_start(&srv, &cli), "bob", "Welcome! Users connected: 2!\n");
    proc_expect(&cli, "bob connected!\n");
    cli_send(bob, "\033[2J\033]0;owned\007gone\r\n");
    size_t at =
        proc_expect_from(&cli, 0, "bob: \xe2\x90\x9b[2J\xe2\x90\x9b]0;owned\xe2\x90\x87gone\n", 10);
    char longline[1001];
    memset(longline, 'y', 999);
    strcpy(longline + 999, "\n");
    cli_send(bob, longline);
    cli_send(bob, "after\n");
    proc_expect_from(&cli, at, "bob: after\n", 10);
    ck_assert_msg(!strstr(cli.buf, "bob: \033"), "an escape sequence reached the terminal");
    ck_assert_msg(!strstr(cli.buf, "Server closed connection."), "%s", cli.buf);
    kill(srv.pid, SIGTERM);
    ck_assert_int_eq(proc_wait(&cli, 10), 0);
    ck_assert_int_eq(proc_wait(&srv, 10), 0);
    close(bob);
    proc_free(&cli);
    proc_free(&srv);
}
END_TEST

/* --- the TTY path, under tmux (a private server per test) --- */

static char *sh(const char *cmd)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    char *out = NULL;
    test_run(argv, NULL, 20, &out, NULL);
    return out;
}

/* tmux on its own socket; cmd is a tmux subcommand. */
static char *tmux(const char *fmt, ...)
{
    char sub[1024], cmd[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sub, sizeof sub, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "tmux -L loomnet%d %s", (int)getpid(), sub);
    return sh(cmd);
}

/* Capture the pane until it contains needle (<= 10 s); returns the capture. */
static char *pane_wait(const char *needle)
{
    double deadline = test_now() + 10;
    for (;;) {
        char *pane = tmux("capture-pane -p -t demo");
        if (strstr(pane, needle) || test_now() > deadline)
            return pane;
        free(pane);
        usleep(50000);
    }
}

/* Start rel (with args) in a 80x10 tmux session; after it exits the pane shows
 * EXIT=<status> and whether the terminal is back in canonical mode. */
static void tmux_start(const char *rel, const char *args)
{
    char path[512];
    test_build_path(rel, path, sizeof path);
    free(tmux("new-session -d -s demo -x 80 -y 10 '%s %s; echo EXIT=$?; "
              "stty -a | grep -o -- \"[-]*icanon\"; sleep 30'",
              path, args));
}

static void tmux_finish(void)
{
    char *pane = pane_wait("icanon");
    free(tmux("kill-server"));
    ck_assert_contains(pane, "EXIT=0");
    ck_assert_msg(!strstr(pane, "-icanon"), "terminal left in cbreak mode:\n%s", pane);
    free(pane);
}

/* The line editor on a real terminal: cbreak mode, our own echo, backspace. */
START_TEST(test_8_8_tty)
{
    test_require_tool("tmux", "tmux", "the terminal tests run the demo in a tmux pane");
    tmux_start("demos/ch08/listing_8_8", "");
    free(pane_wait(">"));
    free(tmux("send-keys -t demo abc BSpace d"));
    char *pane = pane_wait("> abd");
    ck_assert_msg(strstr(pane, "> abd") && !strstr(pane, "abc"), "echo is wrong:\n%s", pane);
    free(pane);
    free(tmux("send-keys -t demo Enter quit Enter"));
    pane = pane_wait("Bye.");
    IN_ORDER(pane, "You entered: abd", "You entered: quit", "Bye.");
    free(pane);
    tmux_finish();
}
END_TEST

/* The chat client on a real terminal: messages at the top, input on the bottom row. */
START_TEST(test_8_14_tty)
{
    test_require_tool("tmux", "tmux", "the terminal tests run the demo in a tmux pane");
    struct proc srv;
    proc_start(&srv, "demos/ch08/listing_8_13", "--port", "0", NULL);
    char args[32];
    snprintf(args, sizeof args, "--port %d", proc_port(&srv));
    tmux_start("demos/ch08/listing_8_14", args);
    free(pane_wait("Enter username:"));
    free(tmux("send-keys -t demo alice Enter"));
    free(pane_wait("alice connected!"));
    free(tmux("send-keys -t demo hello Enter"));
    free(pane_wait("alice: hello"));
    free(tmux("send-keys -t demo 'half a lin'"));
    char *pane = pane_wait("half a lin");
    /* rows 1-3: the messages; row 10 (the last line): what is being typed */
    IN_ORDER(pane, "Welcome! Users connected: 1!\nalice connected!\nalice: hello\n");
    int row = 1;
    for (const char *q = pane; q < strstr(pane, "half a lin"); q++)
        row += *q == '\n';
    ck_assert_msg(strncmp(pane, "Welcome!", 8) == 0 && row == 10, "layout (input on row %d):\n%s",
                  row, pane);
    free(pane);
    kill(srv.pid, SIGTERM);
    free(pane_wait("Server closed connection."));
    ck_assert_int_eq(proc_wait(&srv, 10), 0);
    proc_free(&srv);
    tmux_finish();
}
END_TEST

/* --- every demo answers --help --- */

static const char *const all_demos[] = {
    "ch03/listing_3_1",  "ch03/listing_3_2",  "ch03/listing_3_3",  "ch03/listing_3_5",
    "ch03/listing_3_6",  "ch03/listing_3_7",  "ch03/listing_3_8",  "ch03/listing_3_9",
    "ch03/listing_3_10", "ch08/listing_8_4",  "ch08/listing_8_5",  "ch08/listing_8_6",
    "ch08/listing_8_7",  "ch08/listing_8_8",  "ch08/listing_8_9",  "ch08/listing_8_10",
    "ch08/listing_8_12", "ch08/listing_8_13", "ch08/listing_8_14",
};

START_TEST(test_help)
{
    char rel[64];
    snprintf(rel, sizeof rel, "demos/%s", all_demos[_i]);
    char *out = run(rel, NULL, NULL, "--help", NULL);
    ck_assert_contains(out, "usage: listing_");
    free(out);
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    Suite *s = suite_create("demos_net");
    TCase *ch3 = test_tcase(s, "chapter3", 30);
    tcase_add_checked_fixture(ch3, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(ch3, test_3_1);
    tcase_add_test(ch3, test_3_2);
    tcase_add_test(ch3, test_3_3);
    tcase_add_test(ch3, test_3_5);
    tcase_add_test(ch3, test_3_6);
    tcase_add_test(ch3, test_3_7);
    tcase_add_test(ch3, test_3_8);
    tcase_add_test(ch3, test_3_9);
    tcase_add_test(ch3, test_3_10);
    tcase_add_test(ch3, test_3_10_many);
    TCase *ch8 = test_tcase(s, "chapter8", 30);
    tcase_add_checked_fixture(ch8, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(ch8, test_8_4);
    tcase_add_test(ch8, test_8_5);
    tcase_add_test(ch8, test_8_6);
    tcase_add_test(ch8, test_8_7);
    tcase_add_test(ch8, test_8_8);
    tcase_add_test(ch8, test_8_9);
    tcase_add_test(ch8, test_8_10);
    tcase_add_test(ch8, test_8_12);
    tcase_add_test(ch8, test_8_13);
    tcase_add_test(ch8, test_8_13_idle);
    tcase_add_test(ch8, test_8_13_never_reads);
    tcase_add_test(ch8, test_8_14);
    tcase_add_test(ch8, test_8_14_hostile);
    TCase *tty = test_tcase(s, "tty", 30);
    tcase_add_test(tty, test_8_8_tty);
    tcase_add_test(tty, test_8_14_tty);
    TCase *help = test_tcase(s, "help", 30);
    tcase_add_loop_test(help, test_help, 0, sizeof all_demos / sizeof all_demos[0]);
    return test_main(s);
}
