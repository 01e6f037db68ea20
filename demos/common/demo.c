/* demo.c - see demo.h. */
#include "../demo.h" /* demos/demo.h; the Makefile adds -Idemos only for programs */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int demo_argc;
static char **demo_argv;
static double scale = 1.0;

static const char common_help[] =
    "\nCommon options:\n"
    "  --scale F   multiply every duration by F (default 1 = the book's timings;\n"
    "              also $DEMO_SCALE). Ratios between durations are kept.\n"
    "  --help      show this text\n";

static void set_scale(const char *s, const char *usage)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || !(v > 0)) {
        fprintf(stderr, "bad scale '%s'\n%s%s", s, usage, common_help);
        exit(2);
    }
    scale = v;
}

/* Accept "--name" when the usage text mentions it as a whole word. */
static bool known_option(const char *usage, const char *arg)
{
    size_t n = strlen(arg);
    for (const char *p = strstr(usage, arg); p; p = strstr(p + 1, arg)) {
        char after = p[n];
        if (after != '-' && after != '_' && !(after >= 'a' && after <= 'z'))
            return true;
    }
    return false;
}

void demo_init(int argc, char **argv, const char *usage)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* keep line order with stderr and children */
    demo_argc = argc;
    demo_argv = argv;
    const char *env = getenv("DEMO_SCALE");
    if (env && *env)
        set_scale(env, usage);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("%s%s", usage, common_help);
            exit(0);
        } else if (!strcmp(argv[i], "--scale") && i + 1 < argc) {
            set_scale(argv[++i], usage);
        } else if (strncmp(argv[i], "--", 2) == 0 && known_option(usage, argv[i])) {
            continue;
        } else if (i > 1 && strncmp(argv[i - 1], "--", 2) == 0 &&
                   known_option(usage, argv[i - 1])) {
            continue; /* the value of the option before */
        } else {
            fprintf(stderr, "unknown argument '%s'\n%s%s", argv[i], usage, common_help);
            exit(2);
        }
    }
}

const char *demo_arg_str(const char *name, const char *def)
{
    for (int i = 1; i + 1 < demo_argc; i++)
        if (!strcmp(demo_argv[i], name))
            return demo_argv[i + 1];
    return def;
}

long demo_arg_range(const char *name, long def, long min, long max)
{
    const char *s = demo_arg_str(name, NULL);
    if (!s)
        return def;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno == ERANGE || v < min || v > max) {
        if (min == LONG_MIN && max == LONG_MAX)
            fprintf(stderr, "%s: '%s' is not a whole number\n", name, s);
        else
            fprintf(stderr, "%s: '%s' is not a whole number in %ld..%ld\n", name, s, min, max);
        exit(2);
    }
    return v;
}

long demo_arg_long(const char *name, long def)
{
    return demo_arg_range(name, def, LONG_MIN, LONG_MAX);
}

bool demo_arg_flag(const char *name)
{
    for (int i = 1; i < demo_argc; i++)
        if (!strcmp(demo_argv[i], name))
            return true;
    return false;
}

double demo_scale(void) { return scale; }

int64_t demo_sec(double seconds) { return LOOM_SEC(seconds * scale); }

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

double demo_now(void) { return clock_s(CLOCK_MONOTONIC); }

double demo_thread_cpu(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

int demo_fib_n(int book_n)
{
    int n = book_n + 5 + (int)lround(log(scale) / log(1.6180339887));
    return n < 20 ? 20 : n;
}

int demo_thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -errno;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

intptr_t demo_delay(int seconds)
{
    printf("Starting sleep for %d sec...\n", seconds);
    int rc = loom_sleep(demo_sec(seconds));
    if (rc < 0)
        return rc; /* cancelled: asyncio's CancelledError propagates, no End line */
    printf("End sleeping for %d sec.\n", seconds);
    return seconds;
}

intptr_t demo_delay_task(void *arg) { return demo_delay((int)(intptr_t)arg); }

intptr_t demo_timed(const char *name, const char *args, loom_task_fn fn, void *arg)
{
    printf("Calling %s with arguments %s\n", name, args);
    double t0 = demo_now();
    intptr_t r = fn(arg);
    printf("%s completed in %.4f sec.\n", name, demo_now() - t0);
    return r;
}

long demo_count_to(long n)
{
    volatile long counter = 0;
    while (counter < n)
        counter = counter + 1;
    return counter;
}

long demo_cpu_count(double seconds) { return (long)(seconds * scale * 3e9); }

/* --- sockets --- */

int demo_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int demo_local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return -errno;
    return ntohs(a.sin_port);
}

/* --- sockets for tasks --- */

int demo_listen(const char *host, int port, int *bound)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof a;
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, SOMAXCONN) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (bound)
        *bound = ntohs(a.sin_port);
    return fd;
}

static void fd_ready(struct loom_io *io, unsigned revents)
{
    struct demo_fd *w = io->data;
    loom_io_stop(io, LOOM_READABLE | LOOM_WRITABLE);
    loom_future_set_result(&w->ready, revents);
}

int demo_fd_init(struct demo_fd *w, int fd)
{
    struct loom_loop *loop = loom_loop_current();
    if (!loop)
        return -EPERM;
    w->len = 0;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    int rc = loom_io_init(loop, &w->io, fd, fd_ready);
    w->io.data = w;
    return rc;
}

void demo_fd_close(struct demo_fd *w)
{
    int fd = w->io.fd;
    loom_io_close(&w->io);
    close(fd);
}

int demo_fd_wait(struct demo_fd *w, unsigned events)
{
    loom_future_init(&w->ready);
    loom_io_start(&w->io, events);
    intptr_t r = loom_future_await(&w->ready, LOOM_FOREVER);
    if (r < 0) {
        loom_io_stop(&w->io, events);
        return (int)r;
    }
    return 0;
}

int demo_fd_accept(struct demo_fd *w, char *ip, size_t iplen, int *port)
{
    for (;;) {
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        int fd = accept4(w->io.fd, (struct sockaddr *)&a, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            inet_ntop(AF_INET, &a.sin_addr, ip, (socklen_t)iplen);
            *port = ntohs(a.sin_port);
            return fd;
        }
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            return -errno;
        int rc = errno == EAGAIN ? demo_fd_wait(w, LOOM_READABLE) : 0;
        if (rc < 0)
            return rc;
    }
}

/* Move one line (or, at EOF, the rest) from w->buf to line. */
static ssize_t take_line(struct demo_fd *w, char *line, size_t cap, size_t n)
{
    if (n + 1 > cap)
        return LOOM_ELIMIT;
    memcpy(line, w->buf, n);
    line[n] = 0;
    memmove(w->buf, w->buf + n, w->len - n);
    w->len -= n;
    return (ssize_t)n;
}

ssize_t demo_fd_readline(struct demo_fd *w, char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(w->buf, '\n', w->len);
        if (nl)
            return take_line(w, line, cap, (size_t)(nl - w->buf) + 1);
        if (w->len == sizeof w->buf)
            return LOOM_ELIMIT;
        ssize_t r = read(w->io.fd, w->buf + w->len, sizeof w->buf - w->len);
        if (r == 0)
            return take_line(w, line, cap, w->len); /* EOF: the rest, 0 if none */
        if (r > 0) {
            w->len += (size_t)r;
            continue;
        }
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = errno == EAGAIN ? demo_fd_wait(w, LOOM_READABLE) : 0;
        if (rc < 0)
            return rc;
    }
}

int demo_fd_write_all(struct demo_fd *w, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t r = send(w->io.fd, p, len, MSG_NOSIGNAL);
        if (r > 0) {
            p += r;
            len -= (size_t)r;
            continue;
        }
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = errno == EAGAIN ? demo_fd_wait(w, LOOM_WRITABLE) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

void demo_print_bytes(const char *prefix, const char *p, size_t n, const char *suffix)
{
    printf("%sb'", prefix);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        const char *esc = c == '\r'   ? "\\r"
                          : c == '\n' ? "\\n"
                          : c == '\t' ? "\\t"
                          : c == '\'' ? "\\'"
                          : c == '\\' ? "\\\\"
                                      : NULL;
        if (esc)
            fputs(esc, stdout);
        else if (c < 32 || c > 126)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    printf("'%s", suffix);
}
