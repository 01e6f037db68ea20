/* loom-load - a load tester (the book's chapter 7 StressTest, 7.13-7.15, done
 * as a terminal program).
 *
 * C connections each run a task that sends requests one after another until N
 * requests were made: TCP echo ping-pong (payload sent, the same bytes read
 * back and checked) or HTTP/1.1 GET with keep-alive. On a terminal a progress
 * bar is redrawn 10 times a second with requests/s and latency percentiles, and
 * `q` or Ctrl-C cancels cleanly; otherwise a plain line is printed each second.
 * A summary is printed at the end either way. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/opts.h"

#include "net/stream.h"
#include "net/tcp.h"
#include "net/term.h"
#include "reactor/loop.h"
#include "reactor/task.h"

enum mode { MODE_ECHO, MODE_HTTP };

struct config {
    char host[256];
    int port;
    char path[1024];
    enum mode mode;
    long requests;
    int concurrency;
    size_t size;
    int64_t timeout_ns;
    bool plain; /* no TTY UI even on a terminal */
};

/* Log-linear latency histogram: 16 sub-buckets per power of two (~6% error). */
#define HIST_SUB 16
#define HIST_BUCKETS (64 * HIST_SUB)

struct stats {
    long started, done, errors;
    long bad_status; /* HTTP answers outside 2xx/3xx (counted in errors too) */
    int first_error, last_bad_status;
    int64_t min_ns, max_ns;
    uint64_t hist[HIST_BUCKETS];
};

struct load {
    struct config cfg;
    struct stats st;
    int64_t t0;
    bool cancelled;
    struct loom_task **workers;
    bool tty;
};

static int hist_index(int64_t ns)
{
    uint64_t v = ns > 0 ? (uint64_t)ns : 0;
    if (v < HIST_SUB)
        return (int)v;
    int exp = 63 - __builtin_clzll(v); /* >= 4 */
    int sub = (int)((v >> (exp - 4)) & (HIST_SUB - 1));
    return (exp - 3) * HIST_SUB + sub;
}

static int64_t hist_value(int idx)
{
    if (idx < HIST_SUB)
        return idx;
    int exp = idx / HIST_SUB + 3, sub = idx % HIST_SUB;
    return (int64_t)(((uint64_t)(HIST_SUB + sub) << (exp - 4)) + ((uint64_t)1 << (exp - 4)) / 2);
}

static int64_t percentile_ns(const struct stats *st, double q)
{
    uint64_t total = 0, want, seen = 0;
    for (int i = 0; i < HIST_BUCKETS; i++)
        total += st->hist[i];
    if (total == 0)
        return 0;
    want = (uint64_t)(q * (double)total + 0.5);
    if (want == 0)
        want = 1;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += st->hist[i];
        if (seen >= want)
            return hist_value(i);
    }
    return st->max_ns;
}

static void stats_record(struct stats *st, int64_t ns)
{
    st->done++;
    st->hist[hist_index(ns)]++;
    if (st->min_ns < 0 || ns < st->min_ns)
        st->min_ns = ns;
    if (ns > st->max_ns)
        st->max_ns = ns;
}

/* The latency below which a fraction q of the recorded requests fall. A bucket
 * stands for its middle value, which can lie outside what was measured: the
 * result is kept within [min, max] (so p99 never reads above max). */
static double percentile_ms(const struct stats *st, double q)
{
    int64_t ns = percentile_ns(st, q);
    if (ns > st->max_ns)
        ns = st->max_ns;
    if (st->min_ns >= 0 && ns < st->min_ns)
        ns = st->min_ns;
    return ns / 1e6;
}

/* --- one request per mode --- */

static int echo_request(struct loom_stream *s, const struct config *cfg, char *out, char *in,
                        long seq)
{
    for (size_t i = 0; i + 1 < cfg->size; i++)
        out[i] = (char)('a' + (seq + (long)i) % 26);
    out[cfg->size - 1] = '\n';
    int rc = loom_stream_write(s, out, cfg->size);
    if (rc < 0)
        return rc;
    ssize_t n = loom_stream_readexactly(s, in, cfg->size, cfg->timeout_ns);
    if (n < 0)
        return (int)n;
    return memcmp(in, out, cfg->size) == 0 ? 0 : -EBADMSG;
}

/* Value of header name in the head block, or NULL. */
static const char *header(const char *head, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, len) == 0 && p[2 + len] == ':') {
            const char *v = p + 3 + len;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
    }
    return NULL;
}

/* Read and discard n body bytes. */
static int skip_body(struct loom_stream *s, size_t n, int64_t timeout_ns)
{
    char buf[16384];
    while (n > 0) {
        size_t chunk = n < sizeof(buf) ? n : sizeof(buf);
        ssize_t r = loom_stream_readexactly(s, buf, chunk, timeout_ns);
        if (r < 0)
            return (int)r;
        n -= chunk;
    }
    return 0;
}

static int skip_chunked(struct loom_stream *s, int64_t timeout_ns)
{
    char line[256];
    for (;;) {
        ssize_t r = loom_stream_readuntil(s, "\r\n", 2, line, sizeof(line), timeout_ns);
        if (r < 0)
            return (int)r;
        unsigned long n = strtoul(line, NULL, 16);
        int rc = skip_body(s, n + 2, timeout_ns); /* data + CRLF */
        if (rc < 0 || n == 0)
            return rc; /* no trailers expected from the servers we drive */
    }
}

/* Read and discard everything up to end of stream (a body without a length). */
static int skip_to_eof(struct loom_stream *s, int64_t timeout_ns)
{
    char buf[16384];
    for (;;) {
        ssize_t r = loom_stream_read_some(s, buf, sizeof(buf), timeout_ns);
        if (r == LOOM_EOF)
            return 0;
        if (r < 0)
            return (int)r;
    }
}

struct http_answer {
    int status;
    bool close; /* the server closes the connection after this answer */
};

/* Send a GET and read the whole answer. 0 (see *a) or a negative error. */
static int http_request(struct loom_stream *s, const struct config *cfg, char *req, size_t reqlen,
                        char *head, size_t headcap, struct http_answer *a)
{
    int rc = loom_stream_write(s, req, reqlen);
    if (rc < 0)
        return rc;
    ssize_t n = loom_stream_readuntil(s, "\r\n\r\n", 4, head, headcap, cfg->timeout_ns);
    if (n < 0)
        return (int)n;
    int minor = 0;
    if (sscanf(head, "HTTP/1.%d %d", &minor, &a->status) != 2)
        return LOOM_EHTTP;
    const char *conn = header(head, "Connection");
    a->close = conn ? strncasecmp(conn, "close", 5) == 0
                    : minor == 0; /* HTTP/1.0 closes unless it says keep-alive */
    const char *te = header(head, "Transfer-Encoding");
    const char *cl = header(head, "Content-Length");
    if (te && strncasecmp(te, "chunked", 7) == 0)
        return skip_chunked(s, cfg->timeout_ns);
    if (cl)
        return skip_body(s, strtoul(cl, NULL, 10), cfg->timeout_ns);
    if (a->status == 204 || a->status == 304 || (a->status >= 100 && a->status < 200))
        return 0;
    a->close = true; /* the body runs to end of stream */
    return skip_to_eof(s, cfg->timeout_ns);
}

/* --- workers --- */

struct conn_bufs {
    char *out, *in, *req, *head;
    size_t reqlen;
    bool reused; /* the connection already carried an answer */
};

static int connect_stream(struct load *ld, struct loom_stream **s)
{
    return loom_tcp_connect(ld->cfg.host, ld->cfg.port, ld->cfg.timeout_ns, s);
}

static void count_error(struct load *ld, int rc)
{
    ld->st.errors++;
    if (!ld->st.first_error)
        ld->st.first_error = rc;
}

/* One request on *s, reconnecting first if needed. 0: success; 1: an HTTP error
 * status; negative: the request failed (the connection is then unusable). */
static int one_request(struct load *ld, struct loom_stream **s, struct conn_bufs *b, long seq)
{
    int rc = *s ? 0 : connect_stream(ld, s);
    if (rc < 0)
        return rc;
    if (ld->cfg.mode == MODE_ECHO)
        return echo_request(*s, &ld->cfg, b->out, b->in, seq);
    struct http_answer a = {0, false};
    rc = http_request(*s, &ld->cfg, b->req, b->reqlen, b->head, 16384, &a);
    if (rc == LOOM_EOF && b->reused) {
        /* The server closed an idle keep-alive connection: one fresh try. */
        loom_stream_close(*s);
        *s = NULL;
        b->reused = false;
        return one_request(ld, s, b, seq);
    }
    if (rc < 0)
        return rc;
    b->reused = !a.close;
    if (a.close) {
        loom_stream_close(*s);
        *s = NULL;
    }
    if (a.status < 200 || a.status >= 400) {
        ld->st.bad_status++;
        ld->st.last_bad_status = a.status;
        return 1; /* answered, but not with success; the connection is fine */
    }
    return 0;
}

static intptr_t worker(void *arg)
{
    struct load *ld = arg;
    struct conn_bufs b = {
        malloc(ld->cfg.size), malloc(ld->cfg.size), malloc(2048), malloc(16384), 0, false};
    struct loom_stream *s = NULL;
    intptr_t result = 0;
    if (!b.out || !b.in || !b.req || !b.head) {
        result = -ENOMEM;
        goto out;
    }
    b.reqlen = (size_t)snprintf(b.req, 2048,
                                "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: loom-load\r\n"
                                "Connection: keep-alive\r\n\r\n",
                                ld->cfg.path, ld->cfg.host, ld->cfg.port);
    while (ld->st.started < ld->cfg.requests) {
        long seq = ld->st.started++;
        struct loom_loop *loop = loom_loop_current();
        loom_loop_update_time(loop);
        int64_t t0 = loom_loop_now(loop);
        int rc = one_request(ld, &s, &b, seq);
        if (rc == -ECANCELED) {
            ld->st.started--; /* not done: it does not count */
            result = rc;
            break;
        }
        loom_loop_update_time(loop);
        if (rc > 0) {
            ld->st.errors++;
        } else if (rc < 0) {
            count_error(ld, rc);
            loom_stream_abort(s); /* the connection's state is unknown: start over */
            s = NULL;
            b.reused = false;
        } else {
            stats_record(&ld->st, loom_loop_now(loop) - t0);
        }
    }
out:
    loom_stream_close(s);
    free(b.out);
    free(b.in);
    free(b.req);
    free(b.head);
    return result;
}

static void cancel_all(struct load *ld)
{
    if (ld->cancelled)
        return;
    ld->cancelled = true;
    for (int i = 0; i < ld->cfg.concurrency; i++)
        if (ld->workers[i])
            loom_task_cancel(ld->workers[i]);
}

/* --- progress --- */

static double elapsed_s(const struct load *ld)
{
    struct loom_loop *loop = loom_loop_current();
    loom_loop_update_time(loop);
    return (loom_loop_now(loop) - ld->t0) / 1e9;
}

static void print_progress(struct load *ld, double rate)
{
    long total = ld->cfg.requests, done = ld->st.done + ld->st.errors;
    double frac = total ? (double)done / (double)total : 1;
    if (!ld->tty) {
        printf("progress: %ld/%ld requests, %ld errors, %.0f req/s, p50 %.3f ms, p99 %.3f ms\n",
               done, total, ld->st.errors, rate, percentile_ms(&ld->st, 0.5),
               percentile_ms(&ld->st, 0.99));
        fflush(stdout);
        return;
    }
    char bar[41];
    int fill = (int)(frac * 40);
    for (int i = 0; i < 40; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[40] = 0;
    loom_term_column0(stdout);
    loom_term_erase_line(stdout);
    printf("[%s] %3.0f%% %ld/%ld  %.0f req/s  p50 %.3f ms  p99 %.3f ms  errors %ld  (q: quit)", bar,
           frac * 100, done, total, rate, percentile_ms(&ld->st, 0.5), percentile_ms(&ld->st, 0.99),
           ld->st.errors);
    fflush(stdout);
}

static intptr_t reporter(void *arg)
{
    struct load *ld = arg;
    int64_t period = ld->tty ? LOOM_MS(100) : LOOM_SEC(1);
    long last = 0;
    double last_t = 0;
    for (;;) {
        if (loom_sleep(period) < 0)
            return 0;
        double now = elapsed_s(ld);
        long done = ld->st.done + ld->st.errors;
        print_progress(ld, now > last_t ? (double)(done - last) / (now - last_t) : 0);
        last = done;
        last_t = now;
    }
}

/* On a terminal: `q` cancels the run. */
static intptr_t keys(void *arg)
{
    struct load *ld = arg;
    struct loom_stream *in;
    if (loom_stream_open_fd(loom_loop_current(), 0, LOOM_STREAM_BORROW, &in) < 0)
        return 0;
    int key;
    while ((key = loom_term_read_key(in, -1)) >= 0)
        if (key == 'q' || key == 'Q') {
            cancel_all(ld);
            break;
        }
    loom_stream_close(in);
    return 0;
}

static void on_signal(struct loom_signal *sig, int signum)
{
    (void)signum;
    cancel_all(sig->data);
}

static void print_summary(struct load *ld, double secs)
{
    if (ld->tty)
        printf("\n");
    printf("loom-load: %s%ld of %ld requests to %s:%d (%s) over %d connections\n",
           ld->cancelled ? "cancelled after " : "", ld->st.done + ld->st.errors, ld->cfg.requests,
           ld->cfg.host, ld->cfg.port, ld->cfg.mode == MODE_ECHO ? "echo" : "http",
           ld->cfg.concurrency);
    printf("done %ld, errors %ld in %.3f s: %.0f req/s\n", ld->st.done, ld->st.errors, secs,
           secs > 0 ? ld->st.done / secs : 0);
    if (ld->st.bad_status)
        printf("HTTP error statuses: %ld (last %d)\n", ld->st.bad_status, ld->st.last_bad_status);
    if (ld->st.errors > ld->st.bad_status)
        printf("first error: %s (%s)\n", loom_strerror(ld->st.first_error),
               loom_errname(ld->st.first_error));
    if (ld->st.done)
        printf("latency: min %.3f ms  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms\n",
               ld->st.min_ns / 1e6, percentile_ms(&ld->st, 0.5), percentile_ms(&ld->st, 0.9),
               percentile_ms(&ld->st, 0.99), ld->st.max_ns / 1e6);
    fflush(stdout);
}

static intptr_t run_load(void *arg)
{
    struct load *ld = arg;
    struct loom_loop *loop = loom_loop_current();
    struct loom_signal sigint, sigterm;
    loom_signal_init(loop, &sigint, on_signal);
    loom_signal_init(loop, &sigterm, on_signal);
    sigint.data = sigterm.data = ld;
    if (loom_signal_start(&sigint, SIGINT) < 0 || loom_signal_start(&sigterm, SIGTERM) < 0)
        fprintf(stderr, "loom-load: Ctrl-C will stop the program without a summary\n");
    loom_loop_update_time(loop);
    ld->t0 = loom_loop_now(loop);
    for (int i = 0; i < ld->cfg.concurrency; i++)
        ld->workers[i] = loom_spawn(worker, ld, "worker");
    struct loom_task *rep = loom_spawn(reporter, ld, "reporter");
    struct loom_task *kb = ld->tty ? loom_spawn(keys, ld, "keys") : NULL;
    int n = 0;
    for (int i = 0; i < ld->cfg.concurrency; i++)
        if (ld->workers[i])
            ld->workers[n++] = ld->workers[i];
    loom_gather(ld->workers, (size_t)n, NULL, LOOM_GATHER_ALL);
    double secs = elapsed_s(ld);
    if (rep)
        loom_task_cancel(rep), loom_task_join(rep);
    if (kb)
        loom_task_cancel(kb), loom_task_join(kb);
    loom_signal_stop(&sigint);
    loom_signal_stop(&sigterm);
    if (ld->tty)
        loom_term_restore();
    print_summary(ld, secs);
    return n < ld->cfg.concurrency ? -ENOMEM : 0;
}

/* --- command line --- */

static const char usage[] =
    "usage: loom-load [options] HOST:PORT\n"
    "Drive a server with concurrent requests and report throughput and latency.\n\n"
    "  -m, --mode MODE        echo: send a payload, read it back, check it (default)\n"
    "                         http: GET --path with HTTP/1.1 keep-alive\n"
    "  -n, --requests N       requests in all (default 10000)\n"
    "  -c, --concurrency C    connections, one task each (default 10, at most 100000\n"
    "                         and what the open-file limit allows)\n"
    "  -s, --size BYTES       echo payload size (default 64)\n"
    "  -p, --path PATH        HTTP path (default /)\n"
    "  -t, --timeout SECONDS  per-request timeout (default 10)\n"
    "      --plain            plain progress lines even on a terminal\n"
    "  -h, --help             this help\n\n"
    "On a terminal: a live progress bar; q or Ctrl-C cancels and prints the summary.\n"
    "Exit status: 0 when every request succeeded, 1 on errors or cancellation,\n"
    "2 for a bad argument.";

static int parse_target(struct config *cfg, const char *target)
{
    const char *colon = strrchr(target, ':');
    if (!colon || colon == target || (size_t)(colon - target) >= sizeof(cfg->host))
        return -EINVAL;
    const char *h = target, *he = colon;
    if (*h == '[' && he[-1] == ']') { /* [::1]:8000 */
        h++;
        he--;
    }
    snprintf(cfg->host, sizeof(cfg->host), "%.*s", (int)(he - h), h);
    const char *p = colon + 1;
    if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 5)
        return -EINVAL;
    long port = strtol(p, NULL, 10);
    if (port <= 0 || port > 65535)
        return -EINVAL;
    cfg->port = (int)port;
    return 0;
}

/* Each connection holds one fd; the loop, its wakeup and signal fds and stdio
 * need a few more. Raise the soft limit up to the hard one if that is enough. */
static void check_fd_limit(int concurrency)
{
    enum { SPARE_FDS = 32 };
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t need = (rlim_t)concurrency + SPARE_FDS;
    if (need <= rl.rlim_cur)
        return;
    if (rl.rlim_max == RLIM_INFINITY || need <= rl.rlim_max) {
        struct rlimit raised = {need, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            return;
    }
    long hard = rl.rlim_max == RLIM_INFINITY ? -1 : (long)rl.rlim_max;
    opts_fail("--concurrency: %d connections need %ld open files, but the limit is %ld "
              "(raise it with ulimit -n, or use at most %ld connections)",
              concurrency, (long)need, hard, hard > SPARE_FDS ? hard - SPARE_FDS : 0);
}

static void parse_args(struct config *cfg, int argc, char **argv)
{
    opts_init_args(argc, argv, usage, 1, 1);
    *cfg = (struct config){.mode = MODE_ECHO};
    const char *mode = opts_str("--mode", "echo");
    if (strcmp(mode, "echo") && strcmp(mode, "http"))
        opts_fail("--mode: '%s' is not echo or http", mode);
    cfg->mode = strcmp(mode, "http") == 0 ? MODE_HTTP : MODE_ECHO;
    cfg->requests = opts_long("--requests", 10000, 1, 1000000000000L);
    cfg->concurrency = (int)opts_long("--concurrency", 10, 1, 100000);
    cfg->size = (size_t)opts_long("--size", 64, 1, 64L << 20);
    const char *path = opts_text("--path", "/", sizeof(cfg->path) - 1);
    if (path[0] != '/' || strpbrk(path, " "))
        opts_fail("--path: '%s' is not a path (it starts with / and has no spaces)", path);
    snprintf(cfg->path, sizeof(cfg->path), "%s", path);
    cfg->timeout_ns = opts_seconds("--timeout", 10, 0.001, 86400);
    cfg->plain = opts_flag("--plain");
    if (parse_target(cfg, opts_arg(0)) < 0)
        opts_fail("'%s' is not HOST:PORT (a port 1..65535)", opts_arg(0));
    if (cfg->concurrency > cfg->requests)
        cfg->concurrency = (int)cfg->requests;
    check_fd_limit(cfg->concurrency);
}

int main(int argc, char **argv)
{
    struct load ld = {.st = {.min_ns = -1}};
    parse_args(&ld.cfg, argc, argv);
    ld.workers = calloc((size_t)ld.cfg.concurrency, sizeof(*ld.workers));
    if (!ld.workers) {
        fprintf(stderr, "loom-load: out of memory for %d connections\n", ld.cfg.concurrency);
        return 1;
    }
    ld.tty = !ld.cfg.plain && isatty(1) && loom_term_raw(0) == 0;
    struct loom_loop_options lo = {.stack_size = 64 * 1024};
    intptr_t rc = loom_run_with(&lo, run_load, &ld);
    free(ld.workers);
    if (rc < 0) {
        fprintf(stderr, "loom-load: %s\n", loom_strerror((int)rc));
        return 1;
    }
    return ld.cancelled || ld.st.errors ? 1 : 0;
}
