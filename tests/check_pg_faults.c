/* check_pg_faults.c - the network failing under a query (a TCP proxy the test
 * controls, on 127.0.0.1, between loom and the harness's cluster), and ten
 * million rows streamed with bounded memory. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "db/pg.h"
#include "harness/harness.h"
#include "harness/pg.h"
#include "reactor/task.h"

/* --- the proxy: a thread pumping bytes; freeze stops the pairs open at that
 * moment (packets vanish, sockets stay open), cut closes them. New
 * connections (the cancel request) always pass. --- */

enum { MAX_PAIRS = 16 };

struct proxy {
    int lfd, port, upstream;
    pthread_t th;
    atomic_int freeze_req, cut_req, stop;
    int fd[MAX_PAIRS][2]; /* client, server; -1: free */
    bool frozen[MAX_PAIRS];
};

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void pair_close(struct proxy *p, int i)
{
    close(p->fd[i][0]);
    close(p->fd[i][1]);
    p->fd[i][0] = p->fd[i][1] = -1;
}

/* Copy what one side has to the other; false when either end is done. */
static bool pump(int from, int to)
{
    char buf[65536];
    ssize_t n = read(from, buf, sizeof buf);
    if (n <= 0)
        return false;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w <= 0)
            return false;
        off += w;
    }
    return true;
}

static void *proxy_main(void *arg)
{
    struct proxy *p = arg;
    int freezes = 0, cuts = 0;
    while (!atomic_load(&p->stop)) {
        if (atomic_load(&p->freeze_req) != freezes) {
            freezes = atomic_load(&p->freeze_req);
            for (int i = 0; i < MAX_PAIRS; i++)
                p->frozen[i] = p->fd[i][0] >= 0;
        }
        if (atomic_load(&p->cut_req) != cuts) {
            cuts = atomic_load(&p->cut_req);
            for (int i = 0; i < MAX_PAIRS; i++)
                if (p->fd[i][0] >= 0)
                    pair_close(p, i);
        }
        struct pollfd pf[1 + 2 * MAX_PAIRS];
        int map[1 + 2 * MAX_PAIRS], n = 0;
        pf[n++] = (struct pollfd){p->lfd, POLLIN, 0};
        for (int i = 0; i < MAX_PAIRS; i++)
            for (int s = 0; s < 2 && p->fd[i][0] >= 0 && !p->frozen[i]; s++) {
                map[n] = i * 2 + s;
                pf[n++] = (struct pollfd){p->fd[i][s], POLLIN, 0};
            }
        if (poll(pf, (nfds_t)n, 20) <= 0)
            continue;
        if (pf[0].revents & POLLIN) {
            int cfd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
            int sfd = cfd >= 0 ? dial(p->upstream) : -1;
            int i = 0;
            while (i < MAX_PAIRS && p->fd[i][0] >= 0)
                i++;
            if (sfd < 0 || i == MAX_PAIRS) {
                close(cfd);
                close(sfd);
            } else {
                p->fd[i][0] = cfd;
                p->fd[i][1] = sfd;
                p->frozen[i] = false;
            }
        }
        for (int k = 1; k < n; k++) {
            int i = map[k] / 2, s = map[k] % 2;
            if (pf[k].revents && p->fd[i][0] >= 0 && !pump(p->fd[i][s], p->fd[i][1 - s]))
                pair_close(p, i);
        }
    }
    for (int i = 0; i < MAX_PAIRS; i++)
        if (p->fd[i][0] >= 0)
            pair_close(p, i);
    return NULL;
}

static void proxy_start(struct proxy *p)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < MAX_PAIRS; i++)
        p->fd[i][0] = p->fd[i][1] = -1;
    const char *port = strstr(getenv("LOOM_PG_DSN"), "port=");
    ck_assert_msg(port, "LOOM_PG_DSN has no port: %s", getenv("LOOM_PG_DSN"));
    p->upstream = atoi(port + 5);
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    ck_assert(bind(p->lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(p->lfd, 16) == 0);
    ck_assert(getsockname(p->lfd, (struct sockaddr *)&sa, &len) == 0);
    p->port = ntohs(sa.sin_port);
    ck_assert_int_eq(pthread_create(&p->th, NULL, proxy_main, p), 0);
}

static void proxy_stop(struct proxy *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->th, NULL);
    close(p->lfd);
}

static void connect_via(struct loom_pg *c, const struct proxy *p)
{
    char dsn[700];
    snprintf(dsn, sizeof dsn, "%s host=127.0.0.1 port=%d", getenv("LOOM_PG_DSN"), p->port);
    int rc = loom_pg_connect(c, dsn, LOOM_SEC(10));
    ck_assert_msg(rc == 0, "connect: %s: %s", loom_strerror(rc), loom_pg_errmsg(c));
}

#define BIG "SELECT g, repeat('x', 100) FROM generate_series(1, 20000000) g"

/* A proxy, a connection through it and a big result streaming: 1,000 rows in. */
static void start_mid_result(struct proxy *px, struct loom_pg *c, struct loom_pg_stream *st)
{
    proxy_start(px);
    connect_via(c, px);
    ck_assert_int_eq(loom_pg_stream_open(c, st, BIG, 0, NULL), 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(loom_pg_stream_next(st), 1);
}

/* --- the network freezes mid-result: the deadline ends the call --- */

static intptr_t freeze_main(void *arg)
{
    struct proxy px;
    struct loom_pg c;
    struct loom_pg_stream st;
    start_mid_result(&px, &c, &st);
    atomic_fetch_add(&px.freeze_req, 1);
    struct loom_timeout to;
    loom_timeout_enter(&to, LOOM_MS(500));
    double t0 = test_now();
    int rc;
    while ((rc = loom_pg_stream_next(&st)) == 1) /* what was in flight, then nothing */
        ;
    double dt = test_now() - t0;
    ck_assert(loom_timeout_exit(&to));
    ck_assert_int_eq(rc, -ETIMEDOUT);
    /* the cancel reached the server (new connections pass) but the read-out
     * cannot: after the cancel grace (5 s) the session is given up */
    ck_assert_msg(dt < 8.0, "a frozen network held the call %.3f s", dt);
    ck_assert(loom_pg_broken(&c));
    ck_assert_msg(strstr(loom_pg_errmsg(&c), "deadline"), "msg %s", loom_pg_errmsg(&c));
    ck_assert_int_eq(loom_pg_stream_close(&st), 0);
    ck_assert_int_eq(loom_pg_exec(&c, NULL, "SELECT 1"), -ECONNRESET);
    loom_pg_close(&c);

    /* a plain query (whole result) frozen the same way */
    connect_via(&c, &px);
    atomic_fetch_add(&px.freeze_req, 1);
    loom_timeout_enter(&to, LOOM_MS(300));
    t0 = test_now();
    ssize_t n = loom_pg_exec(&c, NULL, "SELECT 1");
    dt = test_now() - t0;
    loom_timeout_exit(&to);
    ck_assert_int_eq(n, -ETIMEDOUT);
    ck_assert_msg(dt < 8.0, "took %.3f s", dt);
    loom_pg_close(&c);
    proxy_stop(&px);
    return 0;
}

START_TEST(net_freeze) { ck_assert_int_eq(test_run_task(freeze_main, NULL), 0); }
END_TEST

/* --- the network is cut mid-result: a clear error at once --- */

static intptr_t cut_main(void *arg)
{
    struct proxy px;
    struct loom_pg c;
    struct loom_pg_stream st;
    start_mid_result(&px, &c, &st);
    atomic_fetch_add(&px.cut_req, 1);
    double t0 = test_now();
    int rc;
    while ((rc = loom_pg_stream_next(&st)) == 1)
        ;
    ck_assert_msg(test_now() - t0 < 3.0, "took %.3f s", test_now() - t0);
    ck_assert_int_eq(rc, -ECONNRESET);
    ck_assert(loom_pg_broken(&c));
    ck_assert_msg(strstr(loom_pg_errmsg(&c), "closed the connection"), "msg %s",
                  loom_pg_errmsg(&c));
    ck_assert_int_eq(loom_pg_stream_close(&st), 0);
    loom_pg_close(&c);

    /* the pool: statements in flight fail, the next ones get a new connection */
    char dsn[700];
    snprintf(dsn, sizeof dsn, "%s host=127.0.0.1 port=%d", getenv("LOOM_PG_DSN"), px.port);
    struct loom_pg_pool pool;
    struct loom_pg_pool_options o = {.conninfo = dsn, .max_size = 2};
    ck_assert_int_eq(loom_pg_pool_open(&pool, &o), 0);
    struct loom_pg *pc;
    ck_assert_int_eq(loom_pg_pool_acquire(&pool, &pc, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_pg_stream_open(pc, &st, BIG, 0, NULL), 0);
    ck_assert_int_eq(loom_pg_stream_next(&st), 1);
    atomic_fetch_add(&px.cut_req, 1);
    while ((rc = loom_pg_stream_next(&st)) == 1)
        ;
    ck_assert_int_eq(rc, -ECONNRESET);
    loom_pg_stream_close(&st);
    loom_pg_pool_release(&pool, pc);
    struct loom_pg_error err;
    ck_assert_int_eq(loom_pg_pool_query(&pool, NULL, &err, "SELECT 1", 0, NULL), 1);
    ck_assert_int_eq(loom_pg_pool_close(&pool, LOOM_SEC(5)), 0);
    proxy_stop(&px);
    return 0;
}

START_TEST(net_cut) { ck_assert_int_eq(test_run_task(cut_main, NULL), 0); }
END_TEST

/* --- ten million rows, flat memory --- */

/* ASan keeps freed blocks in its quarantine (256 MiB by default). */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_SLACK_KB (8 * 1024 + 256 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_SLACK_KB (8 * 1024 + 256 * 1024)
#endif
#endif
#ifndef RSS_SLACK_KB
#define RSS_SLACK_KB (8 * 1024)
#endif

static long rows_env(void)
{
    const char *s = getenv("LOOM_PG_STREAM_ROWS");
    return s && atol(s) > 0 ? atol(s) : 10000000;
}

static intptr_t rows_main(void *arg)
{
    struct loom_pg c;
    int rc = loom_pg_connect(&c, getenv("LOOM_PG_DSN"), LOOM_SEC(10));
    ck_assert_msg(rc == 0, "connect: %s", loom_pg_errmsg(&c));
    long want = rows_env();
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT g, 'row ' || g FROM generate_series(1, %ld) g", want);
    struct loom_pg_stream st;
    ck_assert_int_eq(loom_pg_stream_open(&c, &st, sql, 0, NULL), 0);
    long n = 0, rss0 = 0, peak = 0;
    long long sum = 0;
    while ((rc = loom_pg_stream_next(&st)) == 1) {
        sum += loom_pg_int64(loom_pg_stream_result(&st), 0, 0);
        if (++n == 100000)
            rss0 = test_rss_kib(0);
        if (n % 1000000 == 0) {
            long now = test_rss_kib(0);
            peak = now > peak ? now : peak;
        }
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(loom_pg_stream_close(&st), 0);
    ck_assert_int_eq(n, want);
    ck_assert(sum == (long long)want * (want + 1) / 2);
    ck_assert_msg(peak - rss0 < RSS_SLACK_KB, "RSS grew %ld KiB over %ld rows", peak - rss0, n);
    loom_pg_close(&c);
    return 0;
}

START_TEST(rows_10m) { ck_assert_int_eq(test_run_task(rows_main, NULL), 0); }
END_TEST

int main(void)
{
    const struct test_pg_case cases[] = {
        {"net_freeze", net_freeze, 40},
        {"net_cut", net_cut, 30},
        {"rows_10m", rows_10m, 120},
    };
    return test_pg_main("pg_faults", cases, sizeof cases / sizeof cases[0]);
}
