/* check_uring.c - what is particular to the io_uring backend: it is really used
 * where the kernel allows it, it falls back to epoll when io_uring_setup is
 * refused (a seccomp filter here, as Docker's default profile does), it stays
 * level-triggered, it releases a closed fd at once, it copes with more fds than
 * SQ entries, its ring fd wakes an embedding host, and a forked child can make
 * a loop of its own. A listener accepts through one multishot accept: a burst
 * with accept4 refused, bounded at max_connections, queued fds closed with the
 * listener, EMFILE, and asyncio's accept semantics (these also on epoll).
 * Hundreds of streams receiving at once through the shared provided buffers
 * get every byte in place.
 * Every other suite runs on it through tests/run-suites. */
#include "harness/harness.h"
#include "net/server.h"
#include "net/tcp.h"
#include "reactor/park.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

/* Make syscalls a and b (the same twice for one) fail with err from now on,
 * for this process and its children: call it in a child. */
static int refuse_syscalls(unsigned a, unsigned b, int err)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, a, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, b, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0 ? -errno : 0;
}

static int refuse_io_uring_setup(void)
{
    return refuse_syscalls(__NR_io_uring_setup, __NR_io_uring_setup, EPERM);
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

/* Run child (which _exits with 0, or the step that failed) in a fork:
 * seccomp filters stay there. steps names them for the failure message. */
static void in_child(void (*child)(void), const char *steps)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        child();
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed at step %d (%s)",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1, steps);
}

START_TEST(test_fallback_when_refused)
{
    in_child(fallback_child, "2 seccomp, 3 filter, 4 new, 5 name, 7 event");
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

/* --- accept: a listener's connections from one multishot accept --- */

#define BURST 200
#define ACCEPT_QUEUE 64 /* net/tcp.c's: what the ring may hold while nobody accepts */

static const char *const both_backends[] = {"io_uring", "epoll"};

/* A non-blocking client connecting to 127.0.0.1:port (through the handshake
 * at once on loopback: it then waits in the listener's backlog). */
static int connect_nb(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    ck_assert_msg(rc == 0 || errno == EINPROGRESS, "connect: %s", strerror(errno));
    return fd;
}

/* Run fn(arg) as the main task of a fresh loop on backend; the loop must be
 * empty afterwards at once (a ring left armed by an accept that returned must
 * not keep it running). */
static intptr_t run_on(const char *backend, loom_task_fn fn, void *arg)
{
    struct loom_loop_options o = {.backend = backend};
    struct loom_loop *loop;
    ck_assert_int_eq(loom_loop_new(&loop, &o), 0);
    struct loom_task *t;
    ck_assert_int_eq(loom_task_spawn(loop, fn, arg, NULL, &t), 0);
    intptr_t rc = loom_loop_run_until_complete(loop, t);
    ck_assert_int_eq(loom_loop_free(loop), 0);
    return rc;
}

struct burst {
    struct loom_listener l;
    int accepted, no_nodelay;
};

static intptr_t burst_acceptor(void *arg)
{
    struct burst *b = arg;
    while (b->accepted < BURST) {
        int fd = loom_listener_accept(&b->l, LOOM_SEC(5));
        if (fd < 0)
            return fd;
        int v = 0;
        socklen_t len = sizeof v;
        getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
        b->no_nodelay += !v;
        b->accepted++;
        close(fd);
    }
    return 0;
}

/* Half the clients wait in the backlog before the first accept, half come
 * while the acceptor waits. */
static intptr_t burst_main(void *arg)
{
    struct burst *b = arg;
    static int cl[BURST];
    if (loom_tcp_listen(loom_loop_current(), &b->l, "127.0.0.1", 0, 0, 0) < 0)
        return 10;
    int port = loom_listener_port(&b->l);
    for (int i = 0; i < BURST / 2; i++)
        cl[i] = connect_nb(port);
    struct loom_task *t;
    if (loom_task_spawn(loom_loop_current(), burst_acceptor, b, NULL, &t) < 0)
        return 11;
    loom_yield();
    for (int i = BURST / 2; i < BURST; i++)
        cl[i] = connect_nb(port);
    intptr_t rc = loom_task_join(t);
    for (int i = 0; i < BURST; i++)
        close(cl[i]);
    loom_listener_close(&b->l);
    return rc;
}

/* In a child where accept4 and accept fail with EAGAIN: only the ring can
 * accept, so a burst that comes through was accepted by io_uring. */
static void burst_child(void)
{
    if (refuse_syscalls(__NR_accept4, __NR_accept, EAGAIN) < 0)
        _exit(2);
    int fds = test_fd_count();
    struct burst b = {0};
    intptr_t rc = run_on("io_uring", burst_main, &b);
    if (rc != 0)
        _exit(3);
    if (b.accepted != BURST)
        _exit(4);
    if (b.no_nodelay)
        _exit(5);
    _exit(test_fd_count() == fds ? 0 : 6);
}

START_TEST(test_accept_burst_without_accept4)
{
    ck_assert_msg(kernel_has_uring(), "io_uring_setup is refused here: nothing to test");
    in_child(burst_child, "2 seccomp, 3 accept error, 4 count, 5 nodelay, 6 fd leak");
}
END_TEST

/* --- max_connections: the backlog, not the process, holds the rest --- */

#define HELD 4

static intptr_t hold_handler(struct loom_stream *s, void *arg)
{
    char c;
    (void)arg;
    while (loom_stream_read(s, &c, 1, LOOM_SEC(10)) > 0)
        ;
    return 0;
}

/* Wait (bounded) until srv has accepted n connections. */
static bool accepted_reaches(struct loom_server *srv, uint64_t n)
{
    for (int i = 0; i < 5000 && loom_server_accepted(srv) < n; i++)
        loom_sleep(LOOM_MS(1));
    return loom_server_accepted(srv) >= n;
}

static intptr_t max_conn_main(void *arg)
{
    struct loom_server_options o = {.max_connections = HELD};
    struct loom_server *srv;
    ck_assert_int_eq(loom_server_start(loom_loop_current(), &o, hold_handler, NULL, &srv), 0);
    int port = loom_server_port(srv), base = test_fd_count();
    static int cl[HELD + BURST];
    loom_yield(); /* the acceptor waits, on the ring: the first ones come through it */
    for (int i = 0; i < HELD; i++)
        cl[i] = connect_nb(port);
    ck_assert(accepted_reaches(srv, HELD));
    for (int i = HELD; i < HELD + BURST; i++)
        cl[i] = connect_nb(port);
    loom_sleep(LOOM_MS(100)); /* what the loop would take in, it takes now */
    int held = test_fd_count() - base - (HELD + BURST) - HELD;
    ck_assert_msg(held <= ACCEPT_QUEUE, "%d connections taken in past max_connections", held);
    ck_assert_uint_eq(loom_server_accepted(srv), HELD);
    for (int i = 0; i < HELD + BURST; i++)
        close(cl[i]); /* each handler ends at EOF, and the next one is accepted */
    ck_assert(accepted_reaches(srv, HELD + BURST));
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(5)), 0);
    loom_server_free(srv);
    return held;
}

START_TEST(test_accept_max_connections_bounded)
{
    for (size_t i = 0; i < 2; i++)
        ck_assert_int_eq(run_on(both_backends[i], max_conn_main, NULL), 0);
}
END_TEST

/* --- closing with connections queued --- */

static intptr_t close_queued_main(void *arg)
{
    struct loom_listener l;
    enum { N = 10 };
    int cl[N];
    ck_assert_int_eq(loom_tcp_listen(loom_loop_current(), &l, "127.0.0.1", 0, 0, 0), 0);
    /* An accept that times out arms the ring, so the next takes the burst
     * through it (not accept4): one fd returned, the others queued. */
    ck_assert_int_eq(loom_listener_accept(&l, LOOM_MS(10)), -ETIMEDOUT);
    loom_sleep(LOOM_MS(1)); /* the next iteration stops it: the clients wait in the backlog */
    for (int i = 0; i < N; i++)
        cl[i] = connect_nb(loom_listener_port(&l));
    int base = test_fd_count();
    int fd = loom_listener_accept(&l, LOOM_SEC(5));
    ck_assert_int_ge(fd, 0);
    int queued = test_fd_count() - base - 1;
    loom_listener_close(&l);
    ck_assert_int_eq(test_fd_count(), base); /* + the fd returned, - the listener, - the queued */
    int closed = 0;
    for (int i = 0; i < N; i++) {
        char c;
        struct pollfd p = {.fd = cl[i], .events = POLLIN};
        if (poll(&p, 1, 0) == 1 && read(cl[i], &c, 1) <= 0)
            closed++;
        close(cl[i]);
    }
    close(fd);
    /* every client but the returned one's sees its end (its fd closed with
     * the queue, or reset with the backlog were the ring not to take it) */
    ck_assert_int_eq(closed, N - 1);
    return queued;
}

START_TEST(test_accept_close_with_queued)
{
    ck_assert_msg(kernel_has_uring(), "io_uring_setup is refused here: nothing to test");
    ck_assert_int_ge(run_on("io_uring", close_queued_main, NULL), 1);
}
END_TEST

/* --- out of fds: the ring's EMFILE pauses accepting, which resumes --- */

static intptr_t emfile_main(void *arg)
{
    struct loom_listener l;
    ck_assert_int_eq(loom_tcp_listen(loom_loop_current(), &l, "127.0.0.1", 0, 0, 0), 0);
    /* Armed once, then stopped by the next iteration: accept4 is not tried
     * first any more, the ring sees EMFILE. */
    ck_assert_int_eq(loom_listener_accept(&l, LOOM_MS(10)), -ETIMEDOUT);
    loom_sleep(LOOM_MS(1));
    int cfd = connect_nb(loom_listener_port(&l));
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = (rlim_t)test_fd_count() + 16;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    int hog[32], nhog = 0;
    while (nhog < 32 && (hog[nhog] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        nhog++;
    ck_assert_int_lt(nhog, 32);
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    ck_assert_int_eq(loom_listener_accept(&l, LOOM_MS(350)), -ETIMEDOUT);
    getrusage(RUSAGE_SELF, &r1);
    double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec -
                          r0.ru_stime.tv_sec) +
                 (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec -
                          r0.ru_stime.tv_usec) /
                     1e6;
    ck_assert_msg(cpu < 0.15, "accept spun while out of fds: %.3f s CPU", cpu);
    for (int i = 0; i < nhog; i++)
        close(hog[i]);
    int fd = loom_listener_accept(&l, LOOM_SEC(2)); /* within the retry period */
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    close(fd);
    close(cfd);
    loom_listener_close(&l);
    return 0;
}

START_TEST(test_accept_emfile_pauses_and_recovers)
{
    for (size_t i = 0; i < 2; i++)
        ck_assert_int_eq(run_on(both_backends[i], emfile_main, NULL), 0);
}
END_TEST

/* --- asyncio semantics: timeout, cancel, a second waiter, close --- */

static intptr_t accept_forever(void *arg) { return loom_listener_accept(arg, -1); }

static intptr_t semantics_main(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    struct loom_listener l;
    struct loom_task *t;
    ck_assert_int_eq(loom_tcp_listen(loop, &l, "127.0.0.1", 0, 0, 0), 0);
    ck_assert_int_eq(loom_listener_accept(&l, LOOM_MS(20)), -ETIMEDOUT);
    ck_assert_int_eq(loom_task_spawn(loop, accept_forever, &l, NULL, &t), 0);
    loom_yield();
    ck_assert_int_eq(loom_listener_accept(&l, LOOM_MS(20)), -EBUSY);
    loom_task_cancel(t);
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    /* after a cancel the next connection still comes, to the next accept */
    int cfd = connect_nb(loom_listener_port(&l));
    int fd = loom_listener_accept(&l, LOOM_SEC(5));
    ck_assert_int_ge(fd, 0);
    close(fd);
    close(cfd);
    ck_assert_int_eq(loom_task_spawn(loop, accept_forever, &l, NULL, &t), 0);
    loom_yield();
    loom_listener_close(&l);
    ck_assert_int_eq(loom_task_join(t), -EBADF);
    ck_assert_int_eq(loom_listener_accept(&l, 0), -EBADF);
    return 0;
}

START_TEST(test_accept_semantics)
{
    for (size_t i = 0; i < 2; i++)
        ck_assert_int_eq(run_on(both_backends[i], semantics_main, NULL), 0);
}
END_TEST

/* A socket that is not listening: the ring's accept fails with EINVAL, the
 * listener falls back to readiness, and accept4 says the same as on epoll. */
static intptr_t not_listening_main(void *arg)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct loom_listener l;
    ck_assert_int_eq(loom_listener_open_fd(loom_loop_current(), &l, fd), 0);
    int rc = loom_listener_accept(&l, LOOM_SEC(2));
    loom_listener_close(&l);
    return rc;
}

START_TEST(test_accept_not_listening)
{
    for (size_t i = 0; i < 2; i++)
        ck_assert_int_eq(run_on(both_backends[i], not_listening_main, NULL), -EINVAL);
}
END_TEST

/* --- receiving: many streams at once, every byte in place --- */

/* Hundreds of streams receiving at once share the provided buffers (with
 * incremental consumption, pieces of one buffer go to different streams):
 * each connection's bytes must arrive whole and in order. */
enum { STREAMS = 400, STREAM_BYTES = 96 * 1024 };

static unsigned char pattern(unsigned id, size_t k)
{
    return (unsigned char)(id * 31u + k * 7u + (k >> 9));
}

struct integrity {
    int good, bad;
};

static intptr_t verify_handler(struct loom_stream *s, void *arg)
{
    struct integrity *in = arg;
    unsigned char buf[16384];
    unsigned id = 0;
    size_t k = 0, idlen = 0;
    bool ok = true;
    for (;;) {
        ssize_t n = loom_stream_read_some(s, buf, sizeof buf, LOOM_SEC(20));
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            if (idlen < 2) { /* the first two bytes: the sender's id */
                id = id << 8 | buf[i];
                idlen++;
            } else if (buf[i] != pattern(id, k++)) {
                ok = false;
            }
        }
    }
    if (ok && k == STREAM_BYTES)
        in->good++;
    else
        in->bad++;
    return 0;
}

static intptr_t integrity_sender(void *arg)
{
    uintptr_t port_id = (uintptr_t)arg;
    unsigned id = (unsigned)(port_id & 0xffff), port = (unsigned)(port_id >> 16);
    struct loom_stream *c;
    int rc = loom_tcp_connect("127.0.0.1", (int)port, LOOM_SEC(10), &c);
    if (rc < 0)
        return rc;
    unsigned char hdr[2] = {(unsigned char)(id >> 8), (unsigned char)id}, chunk[12000];
    rc = loom_stream_write(c, hdr, 2);
    unsigned r = id * 2654435761u;
    for (size_t k = 0; rc == 0 && k < STREAM_BYTES;) {
        r = r * 1103515245u + 12345u;
        size_t len = 1 + (r >> 8) % (r & 0x100 ? sizeof chunk : 200); /* small and big */
        if (len > STREAM_BYTES - k)
            len = STREAM_BYTES - k;
        for (size_t i = 0; i < len; i++)
            chunk[i] = pattern(id, k + i);
        k += len;
        if ((rc = loom_stream_write(c, chunk, len)) == 0)
            rc = loom_stream_drain(c, LOOM_SEC(20));
    }
    if (rc == 0)
        rc = loom_stream_flush(c, LOOM_SEC(20));
    loom_stream_close(c);
    return rc;
}

static intptr_t integrity_main(void *arg)
{
    struct integrity *in = arg;
    struct loom_server_options o = {0};
    struct loom_server *srv;
    ck_assert_int_eq(loom_server_start(loom_loop_current(), &o, verify_handler, in, &srv), 0);
    uintptr_t port = (uintptr_t)loom_server_port(srv);
    static struct loom_task *t[STREAMS];
    for (unsigned i = 0; i < STREAMS; i++)
        t[i] = loom_spawn(integrity_sender, (void *)(port << 16 | i), "sender");
    int failed = 0;
    for (unsigned i = 0; i < STREAMS; i++)
        failed += loom_task_join(t[i]) != 0;
    ck_assert_int_eq(failed, 0);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(20)), 0);
    loom_server_free(srv);
    return 0;
}

START_TEST(test_recv_many_streams_intact)
{
    ck_assert_msg(kernel_has_uring(), "io_uring_setup is refused here: nothing to test");
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 2 * STREAMS + 64 && rl.rlim_max >= 2 * STREAMS + 64) {
        rl.rlim_cur = 2 * STREAMS + 64;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    struct integrity in = {0};
    ck_assert_int_eq(run_on("io_uring", integrity_main, &in), 0);
    ck_assert_int_eq(in.bad, 0);
    ck_assert_int_eq(in.good, STREAMS);
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
    tc = test_tcase_fd(s, "accept", 30);
    tcase_add_test(tc, test_accept_burst_without_accept4);
    tcase_add_test(tc, test_accept_max_connections_bounded);
    tcase_add_test(tc, test_accept_close_with_queued);
    tcase_add_test(tc, test_accept_emfile_pauses_and_recovers);
    tcase_add_test(tc, test_accept_semantics);
    tcase_add_test(tc, test_accept_not_listening);
    tc = test_tcase_fd(s, "receive", 60);
    tcase_add_test(tc, test_recv_many_streams_intact);
    return test_main(s);
}
