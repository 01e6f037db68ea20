/* check_term.c - terminal helpers on a pseudo-terminal: cbreak mode on and
 * off, restored at exit and on a fatal signal, one key at a time through a
 * stream, and the exact ANSI sequences of listing 8.7. */
#include "harness/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "net/stream.h"
#include "net/term.h"
#include "reactor/task.h"

static int master = -1;

/* Open a pty pair; returns the slave fd, the master goes in `master`. */
static int open_pty(void)
{
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(slave, 0);
    return slave;
}

static bool canonical(int fd)
{
    struct termios t;
    ck_assert_int_eq(tcgetattr(fd, &t), 0);
    return (t.c_lflag & ICANON) && (t.c_lflag & ECHO);
}

START_TEST(test_raw_restore)
{
    int slave = open_pty();
    ck_assert(canonical(slave));
    ck_assert_int_eq(loom_term_raw(slave), 0);
    ck_assert(!canonical(slave));
    loom_term_restore();
    ck_assert(canonical(slave));
    loom_term_restore(); /* twice is fine */
    int p[2];
    ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
    ck_assert_int_eq(loom_term_raw(p[0]), -ENOTTY);
    int rows, cols;
    ck_assert_int_eq(loom_term_size(p[0], &rows, &cols), -ENOTTY);
    ck_assert_int_eq(rows, 24);
    close(p[0]);
    close(p[1]);
    close(slave);
    close(master);
}
END_TEST

/* A child leaves the terminal raw and then dies (signal) or exits. */
static void child_leaves(int slave, int how)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* Check's runner handles these; a program would start with the defaults. */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        if (loom_term_raw(slave) != 0 || canonical(slave))
            _exit(3);
        if (how)
            raise(how);
        exit(0); /* atexit restores */
    }
    int status;
    waitpid(pid, &status, 0);
    if (how)
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == how);
    else
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert(canonical(slave));
}

START_TEST(test_restore_on_exit_and_signals)
{
    int slave = open_pty();
    child_leaves(slave, 0);
    child_leaves(slave, SIGTERM);
    child_leaves(slave, SIGINT);
    child_leaves(slave, SIGHUP);
    close(slave);
    close(master);
}
END_TEST

static intptr_t keys_main(void *arg)
{
    int slave = (int)(intptr_t)arg;
    struct loom_stream *in;
    ck_assert_int_eq(loom_stream_open_fd(loom_loop_current(), slave, LOOM_STREAM_BORROW, &in), 0);
    ck_assert_int_eq(write(master, "a\x7f\x08\r", 4), 4);
    ck_assert_int_eq(loom_term_read_key(in, LOOM_SEC(5)), 'a');
    ck_assert_int_eq(loom_term_read_key(in, LOOM_SEC(5)), LOOM_KEY_BACKSPACE);
    ck_assert_int_eq(loom_term_read_key(in, LOOM_SEC(5)), LOOM_KEY_BACKSPACE);
    ck_assert_int_eq(loom_term_read_key(in, LOOM_SEC(5)), '\n');
    ck_assert_int_eq(loom_term_read_key(in, LOOM_MS(20)), -ETIMEDOUT);
    loom_stream_close(in);
    ck_assert_int_eq(fcntl(slave, F_GETFL) & O_NONBLOCK, 0); /* borrowed: put back */
    return 0;
}

START_TEST(test_read_key)
{
    int slave = open_pty();
    ck_assert_int_eq(loom_term_raw(slave), 0);
    struct loom_loop *loop = test_loop_new();
    struct loom_task *t;
    ck_assert_int_eq(loom_task_spawn(loop, keys_main, (void *)(intptr_t)slave, NULL, &t), 0);
    ck_assert_int_eq(loom_loop_run_until_complete(loop, t), 0);
    test_loop_free(loop);
    loom_term_restore();
    close(slave);
    close(master);
}
END_TEST

START_TEST(test_ansi)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    loom_term_save_cursor(f);
    loom_term_restore_cursor(f);
    loom_term_home(f);
    loom_term_erase_line(f);
    loom_term_column0(f);
    loom_term_back_one(f);
    loom_term_move_to_bottom(f, 24);
    loom_term_move_to(f, 3, 7);
    loom_term_scroll_region(f, 1, 23);
    loom_term_scroll_region(f, 0, 0);
    fclose(f);
    ck_assert_str_eq(buf, "\0337\0338\033[H\033[2K\033[0G\033[1D"
                          "\033[24;0H\033[3;7H\033[1;23r\033[r");
    free(buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("term");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"raw_restore", test_raw_restore},
        {"restore_on_exit_and_signals", test_restore_on_exit_and_signals},
        {"read_key", test_read_key},
        {"ansi", test_ansi},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 20);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
