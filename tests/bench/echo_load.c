/* echo_load.c - load generator for the echo bench: N connections, each
 * ping-pongs a message of SIZE bytes and checks every byte that comes back.
 *
 *   echo_load -p PORT[,PORT...] [-H HOST] [-c CONNS] [-s SIZE] [-t SECONDS]
 *             [-w WARMUP] [--pid PID[,PID...]] [--spin] [--idle]
 *             [--interval SECS] [--src ADDR[,ADDR...]] [--window N]
 *             [--hist FILE]
 *
 * Connection k goes to the k-th port of the list (round robin) and, with
 * --src, binds the k-th source address first (IP_BIND_ADDRESS_NO_PORT: the
 * port is picked at connect, so each source address gives its own ~28k
 * ephemeral ports). Connections open with at most --window (256) of them not
 * yet through their first round trip, so the server's accept queue never
 * overflows; conn_rate is connections opened and echoed once per second.
 *
 * Throughput mode (default; --spin busy-polls) prints one line:
 *   rps=R rt=N secs=S cpu_ns_per_rt=C server_cpu_ns=X conn_rate=A
 *   p50_us=.. p99_us=.. p999_us=.. max_us=.. errors=0
 * where X is the servers' utime+stime (from /proc/PID/stat, summed over the
 * --pid list) in the measured window and C = X / N.
 * --interval SECS paces instead: every connection does one round trip every
 * SECS seconds, their starts spread evenly over the interval. After opening
 * them all it prints "ramped conns=N secs=S conn_rate=A" (flushed, so a
 * driver can sample the servers then), runs -t seconds, and prints
 *   rt=N late=L secs=S rps=R p50_us=.. p99_us=.. p999_us=.. max_us=.. errors=0
 * where L counts sends skipped because that connection's last round trip was
 * still out; then it closes every connection with a reset (no TIME_WAIT).
 * --idle opens CONNS connections, does one round trip on each, and prints the
 * servers' RSS growth:  conns=N rss0_kb=A rss1_kb=B bytes_per_conn=X
 * --hist FILE writes the round-trip histogram ("upper_ns count" per non-empty
 * bucket) so a driver can merge several load generators.
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

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { MAX_LIST = 64 };
enum conn_state { OPENING, WARMING, READY }; /* connect out / first round trip out / open */

struct conn {
    int fd;
    uint32_t id;
    uint32_t round; /* which message is in flight */
    size_t sent;    /* bytes of it written */
    size_t got;     /* bytes of it read back */
    int64_t t_sent; /* when it was sent (ns, CLOCK_MONOTONIC) */
    uint8_t state;  /* enum conn_state */
    uint8_t busy;   /* a round trip is out */
};

static struct {
    const char *host, *hist_file;
    int ports[MAX_LIST], nports;
    int pids[MAX_LIST], npids;
    struct in_addr src[MAX_LIST];
    int nsrc;
    int nconns, window;
    size_t size;
    double secs, warmup, interval;
    int idle, spin;
} opt = {.host = "127.0.0.1", .nconns = 1, .window = 256, .size = 64, .secs = 2.0, .warmup = 0.3};

static int epfd;
static uint64_t round_trips;
static int warming;   /* connections not yet through their first round trip */
static int recording; /* round-trip times go into the histogram */

/* --- round-trip histogram ---
 * Log-linear, HDR style: below 64 ns one bucket per ns, then 32 buckets per
 * power of two, so a value is known to within 1/32 (3%) and the memory is a
 * fixed 1,920 counters however many samples come. */
#define SUB_BITS 5
#define SUB (1u << SUB_BITS)
#define NBUCKETS ((64 - SUB_BITS + 1) * SUB)
static uint64_t hist[NBUCKETS], hist_n, hist_max;

static unsigned bucket_of(uint64_t ns)
{
    if (ns < SUB)
        return (unsigned)ns;
    unsigned e = 63u - (unsigned)__builtin_clzll(ns); /* >= SUB_BITS */
    return (e - SUB_BITS + 1) * SUB + (unsigned)((ns >> (e - SUB_BITS)) & (SUB - 1));
}

/* The largest value bucket i holds: percentiles err high, never low. */
static uint64_t bucket_top(unsigned i)
{
    if (i < 2 * SUB)
        return i;
    unsigned e = i / SUB + SUB_BITS - 1, shift = e - SUB_BITS;
    return (((uint64_t)(SUB + i % SUB)) << shift) + ((uint64_t)1 << shift) - 1;
}

static void hist_add(int64_t ns)
{
    uint64_t v = ns > 0 ? (uint64_t)ns : 0;
    hist[bucket_of(v)]++;
    hist_n++;
    if (v > hist_max)
        hist_max = v;
}

/* Microseconds below which a fraction q of the samples lie. */
static double hist_pct_us(double q)
{
    uint64_t want = (uint64_t)(q * (double)hist_n + 0.999999), seen = 0;
    if (want == 0)
        want = 1;
    for (unsigned i = 0; i < NBUCKETS && hist_n; i++)
        if ((seen += hist[i]) >= want) {
            uint64_t v = bucket_top(i);
            return (v < hist_max ? v : hist_max) / 1000.0;
        }
    return hist_max / 1000.0;
}

static void hist_print(void)
{
    printf(" p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f", hist_pct_us(0.5), hist_pct_us(0.99),
           hist_pct_us(0.999), hist_max / 1000.0);
}

static void hist_write(void)
{
    if (!opt.hist_file)
        return;
    FILE *f = fopen(opt.hist_file, "w");
    if (!f) {
        perror(opt.hist_file);
        exit(1);
    }
    for (unsigned i = 0; i < NBUCKETS; i++)
        if (hist[i])
            fprintf(f, "%llu %llu\n", (unsigned long long)bucket_top(i),
                    (unsigned long long)hist[i]);
    fclose(f);
}

/* --- time, /proc --- */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double now_s(void) { return now_ns() / 1e9; }

static void die(const char *what)
{
    fprintf(stderr, "echo_load: %s: %s\n", what, strerror(errno));
    exit(1);
}

static inline uint8_t pattern(const struct conn *c, size_t i)
{
    return (uint8_t)(c->id * 7u + c->round * 13u + i * 31u + (i >> 8));
}

/* One server's CPU time (utime+stime) in ns, from /proc/PID/stat. */
static int64_t proc_cpu_ns(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
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

static long proc_rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
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

static int64_t server_cpu_ns(void)
{
    int64_t sum = 0;
    for (int i = 0; i < opt.npids; i++)
        sum += proc_cpu_ns(opt.pids[i]);
    return sum;
}

static long server_rss_kb(void)
{
    long sum = 0;
    for (int i = 0; i < opt.npids; i++)
        sum += proc_rss_kb(opt.pids[i]);
    return sum;
}

/* --- one connection --- */

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
    c->busy = 1;
    c->t_sent = now_ns();
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

static void open_conn(struct conn *c, uint32_t id)
{
    c->id = id;
    c->state = OPENING;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (opt.nsrc) {
        struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr = opt.src[id % opt.nsrc]};
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0)
            die("bind (source address)");
    }
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)opt.ports[id % opt.nports])};
    inet_pton(AF_INET, opt.host, &sa.sin_addr);
    if (connect(c->fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
        die("connect");
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        die("epoll_ctl");
}

static void round_done(struct conn *c)
{
    if (recording)
        hist_add(now_ns() - c->t_sent);
    round_trips++;
    c->round++;
    c->busy = 0;
    if (c->state == WARMING) {
        c->state = READY;
        warming--;
    } else if (!opt.interval) {
        start_round(c); /* closed loop: the next message at once */
    }
}

static void on_event(struct conn *c, uint32_t events)
{
    if (c->state == OPENING) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            errno = err;
            die("connect");
        }
        c->state = WARMING;
        arm(c, EPOLLIN);
        start_round(c);
        return;
    }
    if (events & EPOLLOUT) {
        arm(c, EPOLLIN);
        send_more(c);
    }
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && recv_some(c))
        round_done(c);
}

/* One epoll_wait and its events. */
static void poll_once(int timeout_ms)
{
    struct epoll_event evs[512];
    int n = epoll_wait(epfd, evs, 512, timeout_ms);
    if (n < 0 && errno != EINTR)
        die("epoll_wait");
    for (int i = 0; i < n; i++)
        on_event(evs[i].data.ptr, evs[i].events);
}

/* Open conns[from..to), each through one round trip, at most opt.window at a time. */
static void ramp(struct conn *conns, int from, int to)
{
    double deadline = now_s() + 60;
    int next = from;
    while (next < to || warming > 0) {
        for (; next < to && warming < opt.window; next++, warming++)
            open_conn(&conns[next], (uint32_t)next);
        poll_once(opt.spin ? 0 : 10);
        if (now_s() > deadline) {
            fprintf(stderr, "echo_load: timed out with %d of %d connections open\n",
                    next - warming - from, to - from);
            exit(1);
        }
    }
}

/* Closed loop until `until`. */
static void pump(double until)
{
    while (now_s() < until)
        poll_once(opt.spin ? 0 : 10);
}

/* Paced: connection k sends at t0 + (k + j*N) * interval/N, j = 0, 1, ...
 * A connection whose last round trip is still out skips its turn (late). */
static uint64_t pump_paced(struct conn *conns, int64_t t0, int64_t end)
{
    uint64_t slot = 0, late = 0, n = (uint64_t)opt.nconns;
    double step = opt.interval * 1e9 / (double)n;
    for (;;) {
        int64_t now = now_ns(), due;
        while ((due = t0 + (int64_t)((double)slot * step)) <= now && due < end) {
            struct conn *c = &conns[slot % n];
            if (c->busy)
                late++;
            else
                start_round(c);
            slot++;
        }
        if (now >= end)
            return late;
        int64_t wait = (due < end ? due : end) - now;
        poll_once((int)((wait + 999999) / 1000000));
    }
}

/* --- options --- */

static void usage(void)
{
    printf("usage: echo_load -p PORT[,PORT...] [-H HOST] [-c CONNS] [-s SIZE] [-t SECS]\n"
           "                 [-w WARMUP] [--pid PID[,PID...]] [--spin] [--idle]\n"
           "                 [--interval SECS] [--src ADDR[,ADDR...]] [--window N]\n"
           "                 [--hist FILE]\n");
}

/* Comma-separated integers into out[]; returns how many. */
static int int_list(const char *s, int *out)
{
    int n = 0;
    for (char *end; *s && n < MAX_LIST; s = *end ? end + 1 : end) {
        out[n++] = (int)strtol(s, &end, 10);
        if (*end && *end != ',')
            return -1;
    }
    return n;
}

static int addr_list(const char *s, struct in_addr *out)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", s);
    int n = 0;
    for (char *save, *tok = strtok_r(buf, ",", &save); tok && n < MAX_LIST;
         tok = strtok_r(NULL, ",", &save))
        if (inet_pton(AF_INET, tok, &out[n++]) != 1)
            return -1;
    return n;
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
            opt.nports = int_list(v, opt.ports), i++;
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
            opt.npids = int_list(v, opt.pids), i++;
        } else if (!strcmp(a, "--interval")) {
            opt.interval = atof(v), i++;
        } else if (!strcmp(a, "--src")) {
            opt.nsrc = addr_list(v, opt.src), i++;
        } else if (!strcmp(a, "--window")) {
            opt.window = atoi(v), i++;
        } else if (!strcmp(a, "--hist")) {
            opt.hist_file = v, i++;
        } else {
            usage();
            exit(2);
        }
    }
    struct in_addr host;
    if (opt.nports < 1 || opt.ports[0] <= 0 || opt.npids < 0 || opt.nsrc < 0 || opt.nconns < 1 ||
        opt.size < 1 || opt.window < 1 || opt.interval < 0 ||
        inet_pton(AF_INET, opt.host, &host) != 1) {
        usage();
        exit(2);
    }
}

/* --- modes --- */

static void run_idle(struct conn *conns)
{
    ramp(conns, 0, 1);
    usleep(100000);
    long rss0 = server_rss_kb();
    ramp(conns, 1, opt.nconns);
    usleep(300000);
    long rss1 = server_rss_kb();
    printf("conns=%d rss0_kb=%ld rss1_kb=%ld bytes_per_conn=%.0f\n", opt.nconns, rss0, rss1,
           opt.nconns > 1 ? (rss1 - rss0) * 1024.0 / (opt.nconns - 1) : 0.0);
}

/* Close with a reset: a C100K run would otherwise leave 100k sockets in
 * TIME_WAIT for a minute on a machine others share. */
static void close_all_rst(struct conn *conns)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    for (int k = 0; k < opt.nconns; k++) {
        setsockopt(conns[k].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(conns[k].fd);
    }
}

static void run_paced(struct conn *conns, double conn_rate, double ramp_secs)
{
    printf("ramped conns=%d secs=%.3f conn_rate=%.0f\n", opt.nconns, ramp_secs, conn_rate);
    fflush(stdout);
    recording = 1;
    int64_t t0 = now_ns(), end = t0 + (int64_t)(opt.secs * 1e9);
    uint64_t rt0 = round_trips, late = pump_paced(conns, t0, end);
    double secs = (now_ns() - t0) / 1e9;
    uint64_t n = round_trips - rt0;
    printf("rt=%llu late=%llu secs=%.3f rps=%.0f", (unsigned long long)n, (unsigned long long)late,
           secs, n / secs);
    hist_print();
    printf(" errors=0\n");
    fflush(stdout);
    close_all_rst(conns);
}

static void run_closed(struct conn *conns, double conn_rate)
{
    for (int k = 0; k < opt.nconns; k++)
        start_round(&conns[k]);
    pump(now_s() + opt.warmup);
    recording = 1;
    uint64_t rt0 = round_trips;
    int64_t cpu0 = server_cpu_ns();
    double t0 = now_s();
    pump(t0 + opt.secs);
    double t1 = now_s();
    int64_t cpu = server_cpu_ns() - cpu0;
    uint64_t n = round_trips - rt0;
    printf("rps=%.0f rt=%llu secs=%.3f cpu_ns_per_rt=%.0f server_cpu_ns=%lld conn_rate=%.0f",
           n / (t1 - t0), (unsigned long long)n, t1 - t0, n ? (double)cpu / n : 0.0, (long long)cpu,
           conn_rate);
    hist_print();
    printf(" errors=0\n");
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)opt.nconns + 16 > rl.rlim_cur) {
        fprintf(stderr, "echo_load: %d connections need more than RLIMIT_NOFILE %llu allows\n",
                opt.nconns, (unsigned long long)rl.rlim_cur);
        return 1;
    }
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1");
    struct conn *conns = calloc((size_t)opt.nconns, sizeof(*conns));
    if (!conns)
        die("calloc");
    if (opt.idle) {
        run_idle(conns);
        return 0;
    }
    double t0 = now_s();
    ramp(conns, 0, opt.nconns);
    double ramp_secs = now_s() - t0, conn_rate = opt.nconns / ramp_secs;
    if (opt.interval)
        run_paced(conns, conn_rate, ramp_secs);
    else
        run_closed(conns, conn_rate);
    hist_write();
    return 0;
}
