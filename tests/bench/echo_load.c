/* echo_load.c - load generator for the echo bench: N connections, each
 * ping-pongs a message of SIZE bytes and checks every byte that comes back.
 *
 *   echo_load -p PORT [-H HOST] [-c CONNS] [-s SIZE] [-t SECONDS] [-w WARMUP]
 *             [--pid SERVER_PID] [--idle]
 *
 * Throughput mode prints one line:
 *   rps=R rt=N secs=S cpu_ns_per_rt=C errors=0
 * where C is the server's utime+stime (from /proc/PID/stat) spent in the
 * measured window divided by its round trips. --idle opens CONNS connections,
 * does one round trip on each, and prints the server's RSS growth:
 *   conns=N rss0_kb=A rss1_kb=B bytes_per_conn=X
 * Plain epoll, one thread; exits 1 on a wrong byte, a reset or a short EOF. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    uint32_t id;
    uint32_t round; /* which message is in flight */
    size_t sent;    /* bytes of it written */
    size_t got;     /* bytes of it read back */
    int connected;
};

static struct {
    const char *host;
    int port, nconns;
    size_t size;
    double secs, warmup;
    int pid, idle, spin;
} opt = {"127.0.0.1", 0, 1, 64, 2.0, 0.3, 0, 0, 0};

static int epfd;
static uint64_t round_trips;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "echo_load: %s: %s\n", what, strerror(errno));
    exit(1);
}

static inline uint8_t pattern(const struct conn *c, size_t i)
{
    return (uint8_t)(c->id * 7u + c->round * 13u + i * 31u + (i >> 8));
}

/* Server CPU time (utime+stime) in ns, from /proc/PID/stat. */
static int64_t server_cpu_ns(void)
{
    if (!opt.pid)
        return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", opt.pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* comm may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (int64_t)((ut + st) * (1000000000.0 / sysconf(_SC_CLK_TCK)));
}

static long server_rss_kb(void)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", opt.pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static void arm(struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl");
}

/* Write what is left of the current message; arm EPOLLOUT if the socket is full. */
static void send_more(struct conn *c)
{
    static uint8_t buf[65536];
    while (c->sent < opt.size) {
        size_t n = opt.size - c->sent;
        if (n > sizeof(buf))
            n = sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(c, c->sent + i);
        ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN) {
                arm(c, EPOLLIN | EPOLLOUT);
                return;
            }
            die("send");
        }
        c->sent += (size_t)w;
    }
}

static void start_round(struct conn *c)
{
    c->sent = c->got = 0;
    send_more(c);
}

/* Read and verify; returns 1 when the message came back whole. */
static int recv_some(struct conn *c)
{
    static uint8_t buf[65536];
    for (;;) {
        ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
        if (r < 0) {
            if (errno == EAGAIN)
                return 0;
            die("recv");
        }
        if (r == 0) {
            fprintf(stderr, "echo_load: conn %u: EOF after %zu of %zu bytes\n", c->id, c->got,
                    opt.size);
            exit(1);
        }
        if (c->got + (size_t)r > c->sent) {
            fprintf(stderr, "echo_load: conn %u: more bytes than sent\n", c->id);
            exit(1);
        }
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != pattern(c, c->got + (size_t)i)) {
                fprintf(stderr, "echo_load: conn %u: wrong byte at %zu\n", c->id,
                        c->got + (size_t)i);
                exit(1);
            }
        c->got += (size_t)r;
        if (c->got == opt.size)
            return 1;
        if ((size_t)r < sizeof(buf))
            return 0;
    }
}

static int open_conn(struct conn *c, const struct sockaddr_in *sa)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno != EINPROGRESS)
        die("connect");
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        die("epoll_ctl");
    return 0;
}

static void on_event(struct conn *c, uint32_t events, int once)
{
    if (!c->connected) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            errno = err;
            die("connect");
        }
        c->connected = 1;
        arm(c, EPOLLIN);
        start_round(c);
        return;
    }
    if (events & EPOLLOUT) {
        arm(c, EPOLLIN);
        send_more(c);
    }
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && recv_some(c)) {
        round_trips++;
        c->round++;
        if (!once)
            start_round(c);
    }
}

/* Run the event loop until `until` (or, with once, until every conn has done
 * a round trip). */
static void pump(struct conn *conns, double until, int once, uint64_t target)
{
    struct epoll_event evs[512];
    (void)conns;
    while (once ? round_trips < target : now_s() < until) {
        int n = epoll_wait(epfd, evs, 512, opt.spin ? 0 : 10);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr, evs[i].events, once);
        if (once && now_s() > until) {
            fprintf(stderr, "echo_load: timed out with %llu of %llu round trips\n",
                    (unsigned long long)round_trips, (unsigned long long)target);
            exit(1);
        }
    }
}

static void connect_all(struct conn *conns, int from, int to, const struct sockaddr_in *sa)
{
    /* In waves, so the server's accept backlog never overflows. */
    for (int i = from; i < to; i += 256) {
        int end = i + 256 < to ? i + 256 : to;
        uint64_t base = round_trips;
        for (int k = i; k < end; k++) {
            conns[k].id = (uint32_t)k;
            open_conn(&conns[k], sa);
        }
        pump(conns, now_s() + 30, 1, base + (uint64_t)(end - i));
    }
}

static void usage(void)
{
    printf("usage: echo_load -p PORT [-H HOST] [-c CONNS] [-s SIZE] [-t SECS] [-w WARMUP]\n"
           "                 [--pid SERVER_PID] [--idle]\n");
}

static void parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            usage();
            exit(0);
        } else if (!strcmp(a, "--spin")) {
            opt.spin = 1;
        } else if (!strcmp(a, "--idle")) {
            opt.idle = 1;
        } else if (!v) {
            usage();
            exit(2);
        } else if (!strcmp(a, "-p")) {
            opt.port = atoi(v), i++;
        } else if (!strcmp(a, "-H")) {
            opt.host = v, i++;
        } else if (!strcmp(a, "-c")) {
            opt.nconns = atoi(v), i++;
        } else if (!strcmp(a, "-s")) {
            opt.size = (size_t)atol(v), i++;
        } else if (!strcmp(a, "-t")) {
            opt.secs = atof(v), i++;
        } else if (!strcmp(a, "-w")) {
            opt.warmup = atof(v), i++;
        } else if (!strcmp(a, "--pid")) {
            opt.pid = atoi(v), i++;
        } else {
            usage();
            exit(2);
        }
    }
    if (!opt.port || opt.nconns < 1 || opt.size < 1) {
        usage();
        exit(2);
    }
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    if (inet_pton(AF_INET, opt.host, &sa.sin_addr) != 1) {
        fprintf(stderr, "echo_load: bad host %s\n", opt.host);
        return 2;
    }
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1");
    struct conn *conns = calloc((size_t)opt.nconns, sizeof(*conns));
    if (!conns)
        die("calloc");
    if (opt.idle) {
        connect_all(conns, 0, 1, &sa);
        usleep(100000);
        long rss0 = server_rss_kb();
        connect_all(conns, 1, opt.nconns, &sa);
        usleep(300000);
        long rss1 = server_rss_kb();
        printf("conns=%d rss0_kb=%ld rss1_kb=%ld bytes_per_conn=%.0f\n", opt.nconns, rss0, rss1,
               opt.nconns > 1 ? (rss1 - rss0) * 1024.0 / (opt.nconns - 1) : 0.0);
        return 0;
    }
    connect_all(conns, 0, opt.nconns, &sa);
    for (int k = 0; k < opt.nconns; k++)
        start_round(&conns[k]);
    pump(conns, now_s() + opt.warmup, 0, 0);
    uint64_t rt0 = round_trips;
    int64_t cpu0 = server_cpu_ns();
    double t0 = now_s();
    pump(conns, t0 + opt.secs, 0, 0);
    double t1 = now_s();
    int64_t cpu1 = server_cpu_ns();
    uint64_t n = round_trips - rt0;
    printf("rps=%.0f rt=%llu secs=%.3f cpu_ns_per_rt=%.0f errors=0\n", n / (t1 - t0),
           (unsigned long long)n, t1 - t0, n ? (double)(cpu1 - cpu0) / n : 0.0);
    return 0;
}
