/* harness.c - see harness.h. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct loom_loop *test_loop_new(void)
{
    struct loom_loop *loop = NULL;
    int rc = loom_loop_new(&loop, NULL);
    ck_assert_msg(rc == 0, "loom_loop_new: %s", loom_strerror(rc));
    return loop;
}

void test_loop_free(struct loom_loop *loop)
{
    int rc = loom_loop_free(loop);
    if (rc != 0)
        loom_loop_dump(loop, stderr);
    ck_assert_msg(rc == 0, "loop not empty at teardown: %s", loom_strerror(rc));
}

intptr_t test_run_task(loom_task_fn fn, void *arg)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_task *t = NULL;
    ck_assert_int_eq(loom_task_spawn(loop, fn, arg, NULL, &t), 0);
    intptr_t rc = loom_loop_run_until_complete(loop, t);
    test_loop_free(loop);
    return rc;
}

intptr_t test_run_task_opt(const struct loom_loop_options *opt, loom_task_fn fn, void *arg)
{
    struct loom_loop *loop = NULL;
    int rc = loom_loop_new(&loop, opt);
    ck_assert_msg(rc == 0, "loom_loop_new: %s", loom_strerror(rc));
    struct loom_task *t = NULL;
    ck_assert_int_eq(loom_task_spawn(loop, fn, arg, NULL, &t), 0);
    intptr_t r = loom_loop_run_until_complete(loop, t);
    for (int i = 0; (rc = loom_loop_free(loop)) == -EBUSY && i < 1000; i++)
        loom_loop_run(loop, LOOM_RUN_ONCE);
    if (rc != 0)
        loom_loop_dump(loop, stderr);
    ck_assert_msg(rc == 0, "loop not empty at teardown: %s", loom_strerror(rc));
    return r;
}

int test_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the DIR's own fd */
}

static int marked_fds = -1;

void test_fd_mark(void) { marked_fds = test_fd_count(); }

void test_fd_check(void)
{
    int now = test_fd_count();
    ck_assert_msg(now == marked_fds, "fd leak: %d fds at start, %d at end", marked_fds, now);
}

void test_fixture_setup(void) { test_fd_mark(); }
void test_fixture_teardown(void) { test_fd_check(); }

void test_require_tool(const char *tool, const char *package, const char *why)
{
    const char *path = getenv("PATH");
    char dir[4096], file[4096 + 256];
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
        snprintf(file, sizeof(file), "%s/%s", n ? dir : ".", tool);
        if (access(file, X_OK) == 0)
            return;
        p += n + (p[n] == ':');
    }
    ck_abort_msg("%s is not installed (apt-get install %s): %s", tool, package, why);
}

double test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *test_build_path(const char *rel, char *buf, size_t len)
{
    const char *b = getenv("LOOM_BUILD");
    snprintf(buf, len, "%s/%s", b && *b ? b : "build", rel);
    return buf;
}

static void child_exec(char *const argv[], int in_fd, int out_fd)
{
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    execv(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static void feed_and_collect(int in_w, const char *input, int out_r, char **out, size_t *len,
                             size_t *cap, double deadline, bool *timed_out)
{
    size_t in_off = 0, in_len = input ? strlen(input) : 0;
    if (in_w >= 0 && in_len == 0) {
        close(in_w);
        in_w = -1;
    }
    /* Non-blocking, so a program that writes a lot before reading all its
     * input cannot deadlock against us on two full pipes. */
    if (in_w >= 0)
        fcntl(in_w, F_SETFL, fcntl(in_w, F_GETFL) | O_NONBLOCK);
    for (;;) {
        struct pollfd p[2] = {{out_r, POLLIN, 0}, {in_w, POLLOUT, 0}};
        int wait_ms = (int)((deadline - test_now()) * 1000);
        if (wait_ms <= 0) {
            *timed_out = true;
            break;
        }
        if (poll(p, in_w >= 0 ? 2 : 1, wait_ms) <= 0)
            continue;
        if (in_w >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(in_w, input + in_off, in_len - in_off);
            if (w > 0)
                in_off += (size_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == in_len) {
                close(in_w);
                in_w = -1;
            }
        }
        if (p[0].revents) {
            if (*len + 4096 + 1 > *cap) {
                *cap = (*cap + 4096) * 2;
                *out = realloc(*out, *cap);
            }
            ssize_t r = read(out_r, *out + *len, 4096);
            if (r <= 0)
                break;
            *len += (size_t)r;
        }
    }
    if (in_w >= 0)
        close(in_w);
}

int test_run(char *const argv[], const char *input, double timeout_s, char **out, double *elapsed)
{
    int in_pipe[2] = {-1, -1}, out_pipe[2];
    ck_assert(pipe2(out_pipe, O_CLOEXEC) == 0);
    int in_fd;
    if (input) {
        ck_assert(pipe2(in_pipe, O_CLOEXEC) == 0);
        in_fd = in_pipe[0];
    } else {
        in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    signal(SIGPIPE, SIG_IGN);
    double t0 = test_now();
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0)
        child_exec(argv, in_fd, out_pipe[1]);
    close(in_fd);
    close(out_pipe[1]);
    size_t len = 0, cap = 8192;
    *out = malloc(cap);
    bool timed_out = false;
    feed_and_collect(input ? in_pipe[1] : -1, input, out_pipe[0], out, &len, &cap, t0 + timeout_s,
                     &timed_out);
    (*out)[len] = 0;
    close(out_pipe[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (elapsed)
        *elapsed = test_now() - t0;
    if (timed_out)
        return -1000;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

TCase *test_tcase_fd(Suite *s, const char *name, double timeout_s)
{
    TCase *tc = test_tcase(s, name, timeout_s);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    return tc;
}

TCase *test_tcase(Suite *s, const char *name, double timeout_s)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, timeout_s);
    suite_add_tcase(s, tc);
    return tc;
}

int test_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void test_server_read(struct test_server *s, double timeout_s)
{
    struct pollfd pf = {s->out, POLLIN, 0};
    if (poll(&pf, 1, (int)(timeout_s * 1000)) <= 0)
        return;
    ssize_t n = read(s->out, s->buf + s->len, sizeof s->buf - 1 - s->len);
    if (n > 0)
        s->len += (size_t)n;
    s->buf[s->len] = '\0';
}

void test_server_start(struct test_server *s, char *const argv[])
{
    int fds[2];
    ck_assert(pipe2(fds, O_CLOEXEC) == 0);
    s->len = 0;
    s->buf[0] = '\0';
    s->pid = fork();
    ck_assert(s->pid >= 0);
    if (s->pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    s->out = fds[0];
    double t0 = test_now();
    const char *l;
    while (!(l = strstr(s->buf, "listening on ")) || !strchr(l, '\n')) {
        if (test_now() - t0 > 10)
            break;
        test_server_read(s, 0.5);
    }
    ck_assert_msg(l && strchr(l, '\n'), "%s printed no listening line:\n%s", argv[0], s->buf);
    const char *eol = strchr(l, '\n'), *colon = eol;
    while (colon > l && *colon != ':')
        colon--;
    s->port = atoi(colon + 1);
    ck_assert_msg(s->port > 0, "no port in: %.*s", (int)(eol - l), l);
}

long test_proc_status_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = strlen(field);
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n))
            kib = atol(line + n);
    if (f)
        fclose(f);
    return kib;
}

int test_server_wait(struct test_server *s, double timeout_s)
{
    double t0 = test_now();
    int status = 0;
    while (waitpid(s->pid, &status, WNOHANG) == 0) {
        if (test_now() - t0 > timeout_s) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            ck_abort_msg("server did not exit:\n%s", s->buf);
        }
        test_server_read(s, 0.05);
    }
    for (size_t before = ~(size_t)0; before != s->len;) {
        before = s->len;
        test_server_read(s, 0.05);
    }
    close(s->out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

char *test_run_demov(const char *rel, const struct test_demo *how, double *elapsed, va_list ap)
{
    static const struct test_demo defaults = {0};
    how = how ? how : &defaults;
    char path[512];
    char *argv[32] = {(char *)test_build_path(rel, path, sizeof path)};
    int n = 1;
    for (const char *const *p = how->pre; p && *p; p++) {
        ck_assert_msg(n < 31, "%s: too many arguments", rel);
        argv[n++] = (char *)*p;
    }
    for (char *a; (a = va_arg(ap, char *));) {
        ck_assert_msg(n < 31, "%s: too many arguments", rel);
        argv[n++] = a;
    }
    argv[n] = NULL;
    char *out = NULL;
    double t = 0;
    int rc = test_run(argv, how->input, how->timeout_s > 0 ? how->timeout_s : 60, &out, &t);
    ck_assert_msg(rc == how->want_status, "%s exited with %d (want %d), output:\n%s", rel, rc,
                  how->want_status, out);
    if (elapsed)
        *elapsed = t;
    return out;
}

char *test_run_demo(const char *rel, const struct test_demo *how, double *elapsed, ...)
{
    va_list ap;
    va_start(ap, elapsed);
    char *out = test_run_demov(rel, how, elapsed, ap);
    va_end(ap);
    return out;
}

void test_server_start_demo(struct test_server *s, const char *rel, const char *const *pre,
                            const char *const *args)
{
    char path[512];
    char *argv[32] = {(char *)test_build_path(rel, path, sizeof path)};
    int n = 1;
    for (int k = 0; k < 2; k++)
        for (const char *const *p = k ? args : pre; p && *p; p++) {
            ck_assert_msg(n < 31, "%s: too many arguments", rel);
            argv[n++] = (char *)*p;
        }
    argv[n] = NULL;
    test_server_start(s, argv);
}

const char *test_in_order(const char *out, const char *const *needles, size_t n)
{
    const char *p = out;
    for (size_t i = 0; i < n; i++) {
        const char *q = strstr(p, needles[i]);
        ck_assert_msg(q != NULL, "expected \"%s\" (item %zu) in order in output:\n%s", needles[i],
                      i, out);
        p = q + strlen(needles[i]);
    }
    return p;
}

int test_count(const char *out, const char *needle)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

long test_rss_kib(pid_t pid)
{
    char path[64], line[256];
    if (pid)
        snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    else
        snprintf(path, sizeof path, "/proc/self/status");
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

void test_run_ok(char *const argv[])
{
    char *out = NULL;
    int rc = test_run(argv, NULL, 60, &out, NULL);
    ck_assert_msg(rc == 0, "%s failed (%d; is it installed?):\n%s", argv[0], rc, out ? out : "");
    free(out);
}

void test_make_certs(const char *dir, const char *ca_name)
{
    char ca[512], cakey[512], key[512], csr[512], crt[512], ext[512], subj[256];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    snprintf(cakey, sizeof cakey, "%s/ca.key", dir);
    snprintf(key, sizeof key, "%s/srv.key", dir);
    snprintf(csr, sizeof csr, "%s/srv.csr", dir);
    snprintf(crt, sizeof crt, "%s/srv.pem", dir);
    snprintf(ext, sizeof ext, "%s/ext.cnf", dir);
    snprintf(subj, sizeof subj, "/CN=%s", ca_name);
    FILE *f = fopen(ext, "w");
    ck_assert_ptr_nonnull(f);
    fputs("subjectAltName=IP:127.0.0.1\n", f);
    fclose(f);
    test_run_ok((char *[]){"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-keyout", cakey, "-out", ca, "-days", "1", "-subj", subj, NULL});
    test_run_ok((char *[]){"/usr/bin/openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                           key, "-out", csr, "-subj", "/CN=127.0.0.1", NULL});
    test_run_ok((char *[]){"/usr/bin/openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey",
                           cakey, "-CAcreateserial", "-out", crt, "-days", "1", "-extfile", ext,
                           NULL});
}
