/* check_uring.c - what is particular to the io_uring backend: it is really used
 * where the kernel allows it, it falls back to epoll when io_uring_setup is
 * refused (a seccomp filter here, as Docker's default profile does), it stays
 * level-triggered, it releases a closed fd at once, it copes with more fds than
 * SQ entries, its ring fd wakes an embedding host, and a forked child can make
 * a loop of its own. Every other suite runs on it through tests/run-suites. */
#include "harness/harness.h"
#include "reactor/park.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct loom_loop_options uring_opt = {.backend = "io_uring"};

/* Whether this kernel lets us make a ring, asked without liburing. */
static bool kernel_has_uring(void)
{
    unsigned char params[120] = {0}; /* struct io_uring_params */
    long fd = syscall(__NR_io_uring_setup, 1, params);
    if (fd < 0)
        return false;
    close((int)fd);
    return true;
}

static struct loom_loop *uring_loop(void)
{
    struct loom_loop *loop;
    ck_assert_int_eq(loom_loop_new(&loop, &uring_opt), 0);
    return loop;
}

static void pipe_nb(int p[2]) { ck_assert_int_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0); }

START_TEST(test_selected_when_available)
{
    struct loom_loop *loop = uring_loop();
    ck_assert_str_eq(loom_loop_backend(loop), kernel_has_uring() ? "io_uring" : "epoll");
    ck_assert_int_ge(loom_loop_backend_fd(loop), 0);
    ck_assert_int_eq(loom_loop_free(loop), 0);
}
END_TEST

/* --- fallback: io_uring_setup refused by a seccomp filter --- */

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

static int refuse_io_uring_setup(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0 ? -errno : 0;
}

static int got_events;

static void count_cb(struct loom_io *io, unsigned revents)
{
    char c;
    (void)revents;
    if (read(io->fd, &c, 1) == 1)
        got_events++;
}

/* A non-blocking pipe whose read end is watched for READABLE by count_cb. */
struct watched_pipe {
    int p[2];
    struct loom_io io;
};

static void watch_pipe(struct loom_loop *loop, struct watched_pipe *w)
{
    pipe_nb(w->p);
    loom_io_init(loop, &w->io, w->p[0], count_cb);
    loom_io_start(&w->io, LOOM_READABLE);
}

static void unwatch_pipe(struct watched_pipe *w)
{
    loom_io_close(&w->io);
    close(w->p[0]);
    close(w->p[1]);
}

/* In a child: exit codes say which step failed. */
static void fallback_child(void)
{
    if (refuse_io_uring_setup() < 0)
        _exit(2);
    if (kernel_has_uring())
        _exit(3); /* the filter did not take */
    struct loom_loop *loop;
    if (loom_loop_new(&loop, &uring_opt) < 0)
        _exit(4);
    if (strcmp(loom_loop_backend(loop), "epoll") != 0)
        _exit(5);
    struct watched_pipe w;
    watch_pipe(loop, &w);
    if (write(w.p[1], "x", 1) != 1)
        _exit(6);
    loom_loop_run(loop, LOOM_RUN_ONCE);
    if (got_events != 1)
        _exit(7);
    unwatch_pipe(&w);
    _exit(loom_loop_free(loop) == 0 ? 0 : 8);
}

START_TEST(test_fallback_when_refused)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        fallback_child();
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "child failed at step %d (2 seccomp, 3 filter, 4 new, 5 name, 7 event)",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}
END_TEST

/* --- readiness semantics --- */

/* A callback that reads one byte of three is called again on each of the next
 * iterations: level-triggered, which a multishot poll would not give. */
START_TEST(test_level_triggered)
{
    struct loom_loop *loop = uring_loop();
    struct watched_pipe w;
    watch_pipe(loop, &w);
    got_events = 0;
    ck_assert_int_eq(write(w.p[1], "abc", 3), 3);
    for (int i = 1; i <= 3; i++) {
        loom_loop_run(loop, LOOM_RUN_ONCE);
        ck_assert_int_eq(got_events, i);
    }
    loom_loop_run(loop, LOOM_RUN_NOWAIT);
    ck_assert_int_eq(got_events, 3);
    unwatch_pipe(&w);
    ck_assert_int_eq(loom_loop_free(loop), 0);
}
END_TEST

/* A poll in flight holds its file: after loom_io_close and close the peer must
 * see EOF at once, without another loop iteration. */
START_TEST(test_close_releases_file)
{
    struct loom_loop *loop = uring_loop();
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    struct loom_io io;
    loom_io_init(loop, &io, sv[0], count_cb);
    loom_io_start(&io, LOOM_READABLE);
    loom_loop_run(loop, LOOM_RUN_NOWAIT); /* the poll is now in the kernel */
    loom_io_close(&io);
    close(sv[0]);
    char c;
    ck_assert_int_eq(read(sv[1], &c, 1), 0);
    close(sv[1]);
    ck_assert_int_eq(loom_loop_free(loop), 0);
}
END_TEST

#define NPIPES 600 /* more than the ring's 256 SQ entries */

START_TEST(test_more_fds_than_sq_entries)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 2 * NPIPES + 64) {
        rl.rlim_cur = rl.rlim_max;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    ck_assert_uint_ge(rl.rlim_cur, 2 * NPIPES + 64);
    struct loom_loop *loop = uring_loop();
    static struct watched_pipe w[NPIPES];
    got_events = 0;
    for (int i = 0; i < NPIPES; i++) {
        watch_pipe(loop, &w[i]);
        ck_assert_int_eq(write(w[i].p[1], "x", 1), 1);
    }
    for (int round = 0; round < 10 && got_events < NPIPES; round++)
        loom_loop_run(loop, LOOM_RUN_ONCE);
    ck_assert_int_eq(got_events, NPIPES);
    for (int i = 0; i < NPIPES; i++)
        unwatch_pipe(&w[i]);
    ck_assert_int_eq(loom_loop_free(loop), 0);
}
END_TEST

/* An embedding host sleeps on the ring fd between LOOM_RUN_NOWAIT turns: an fd
 * that fired in the last turn must be armed again by then. */
START_TEST(test_embed_ring_fd_wakes_host)
{
    struct loom_loop *loop = uring_loop();
    struct watched_pipe w;
    watch_pipe(loop, &w);
    got_events = 0;
    struct pollfd host = {.fd = loom_loop_backend_fd(loop), .events = POLLIN};
    for (int i = 1; i <= 3; i++) {
        loom_loop_run(loop, LOOM_RUN_NOWAIT);
        ck_assert_int_eq(poll(&host, 1, 0), 0); /* nothing to do: the host may sleep */
        ck_assert_int_eq(write(w.p[1], "x", 1), 1);
        ck_assert_int_eq(poll(&host, 1, 5000), 1);
        loom_loop_run(loop, LOOM_RUN_NOWAIT);
        ck_assert_int_eq(got_events, i);
    }
    unwatch_pipe(&w);
    ck_assert_int_eq(loom_loop_free(loop), 0);
}
END_TEST

/* After fork the child forgets the parent's loop and makes its own ring; the
 * parent's loop works on afterwards. */
START_TEST(test_fork_child_own_ring)
{
    struct loom_loop *loop = uring_loop();
    struct watched_pipe w;
    watch_pipe(loop, &w);
    loom_loop_run(loop, LOOM_RUN_NOWAIT);
    got_events = 0;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        loom_loop_forget_inherited();
        struct loom_loop *mine;
        if (loom_loop_new(&mine, &uring_opt) < 0)
            _exit(2);
        struct watched_pipe cw;
        watch_pipe(mine, &cw);
        if (write(cw.p[1], "y", 1) != 1)
            _exit(3);
        loom_loop_run(mine, LOOM_RUN_ONCE);
        unwatch_pipe(&cw);
        _exit(got_events == 1 && loom_loop_free(mine) == 0 ? 0 : 4);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    ck_assert_int_eq(write(w.p[1], "x", 1), 1);
    loom_loop_run(loop, LOOM_RUN_ONCE);
    ck_assert_int_eq(got_events, 1);
    unwatch_pipe(&w);
    ck_assert_int_eq(loom_loop_free(loop), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("uring");
    TCase *tc = test_tcase_fd(s, "select", 10);
    tcase_add_test(tc, test_selected_when_available);
    tcase_add_test(tc, test_fallback_when_refused);
    tc = test_tcase_fd(s, "readiness", 20);
    tcase_add_test(tc, test_level_triggered);
    tcase_add_test(tc, test_close_releases_file);
    tcase_add_test(tc, test_more_fds_than_sq_entries);
    tcase_add_test(tc, test_embed_ring_fd_wakes_host);
    tcase_add_test(tc, test_fork_child_own_ring);
    return test_main(s);
}
