/* check_net_eyeballs.c - Happy Eyeballs connect (RFC 8305): attempts race
 * over IPv4 and IPv6 loopback listeners, some of which answer, refuse, or
 * never answer. A "blackhole" is an honest one: a listener whose accept queue
 * is full drops SYNs, so a connect to it hangs (checked before it is used).
 * The fixture checks that no attempt's fd is left open. */
#include "harness/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/tcp.h"
#include "reactor/error.h"
#include "reactor/task.h"

/* --- endpoints --- */

enum kind { GOOD, REFUSED, BLACKHOLE };

struct endpoint {
    enum kind kind;
    int family;
    struct sockaddr_storage ss;
    socklen_t len;
    struct loom_listener l; /* GOOD and BLACKHOLE */
    int fill[8]; /* BLACKHOLE: connections that fill the accept queue; REFUSED: [0] bound */
    int port;
};

static void loopback(int family, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        a->sin6_addr = in6addr_loopback;
        *len = sizeof *a;
    }
}

/* A raw connect to ep: true if it completes (either way) within ms. */
static bool connect_answers(const struct endpoint *ep, int ms)
{
    int fd = socket(ep->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    connect(fd, (const struct sockaddr *)&ep->ss, ep->len);
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    bool answered = poll(&p, 1, ms) == 1;
    close(fd);
    return answered;
}

static void endpoint_open(struct endpoint *ep, enum kind kind, int family)
{
    memset(ep, 0, sizeof *ep);
    ep->kind = kind;
    ep->family = family;
    const char *host = family == AF_INET ? "127.0.0.1" : "::1";
    if (kind == REFUSED) {
        /* Bound but not listening: connects are refused, and the port stays
         * taken, so no later listener of the test can get it. */
        loopback(family, 0, &ep->ss, &ep->len);
        ep->fill[0] = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(ep->fill[0], 0);
        ck_assert_int_eq(bind(ep->fill[0], (struct sockaddr *)&ep->ss, ep->len), 0);
        ck_assert_int_eq(getsockname(ep->fill[0], (struct sockaddr *)&ep->ss, &ep->len), 0);
        return;
    }
    int rc = loom_tcp_listen(loom_loop_current(), &ep->l, host, 0, 1, LOOM_LISTEN_V6ONLY);
    ck_assert_msg(rc == 0, "listen on %s: %s (IPv6 loopback is needed by this suite)", host,
                  loom_strerror(rc));
    ep->port = loom_listener_port(&ep->l);
    loopback(family, ep->port, &ep->ss, &ep->len);
    if (kind == BLACKHOLE) {
        for (int i = 0; i < 8; i++) {
            ep->fill[i] = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            connect(ep->fill[i], (struct sockaddr *)&ep->ss, ep->len);
        }
        loom_sleep(LOOM_MS(20));
        ck_assert_msg(!connect_answers(ep, 100), "a full accept queue did not drop a SYN");
    }
}

static void endpoint_close(struct endpoint *ep)
{
    if (ep->kind == REFUSED)
        close(ep->fill[0]);
    else
        loom_listener_close(&ep->l);
    if (ep->kind == BLACKHOLE)
        for (int i = 0; i < 8; i++)
            close(ep->fill[i]);
}

/* The endpoints as a getaddrinfo-style list (nodes in ai[], n of them). */
static struct addrinfo *as_list(struct endpoint *eps, size_t n, struct addrinfo *ai)
{
    for (size_t i = 0; i < n; i++) {
        ai[i] = (struct addrinfo){.ai_family = eps[i].family,
                                  .ai_socktype = SOCK_STREAM,
                                  .ai_addrlen = eps[i].len,
                                  .ai_addr = (struct sockaddr *)&eps[i].ss,
                                  .ai_next = i + 1 < n ? &ai[i + 1] : NULL};
    }
    return n ? ai : NULL;
}

/* The port fd is connected to. */
static int peer_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    ck_assert_int_eq(getpeername(fd, (struct sockaddr *)&ss, &len), 0);
    return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                   : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void close_all(struct endpoint *eps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        endpoint_close(&eps[i]);
}

/* --- tests --- */

/* The first address never answers: the second is tried after the attempt
 * delay and wins; without racing the same list hangs until the timeout. */
static intptr_t blackhole_main(void *arg)
{
    struct endpoint eps[2];
    struct addrinfo ai[2];
    endpoint_open(&eps[0], BLACKHOLE, AF_INET);
    endpoint_open(&eps[1], GOOD, AF_INET);
    int before = test_fd_count();
    double t0 = test_now();
    int fd = loom_tcp_connect_addrinfo(as_list(eps, 2, ai), NULL, LOOM_SEC(10));
    double took = test_now() - t0;
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_port(fd), eps[1].port);
    ck_assert_msg(took >= 0.2, "the second attempt started after %.3f s, before the delay", took);
    ck_assert_msg(took < 5, "took %.3f s", took);
    ck_assert_int_eq(test_fd_count(), before + 1); /* the losing attempt is closed */
    close(fd);
    struct loom_connect_options seq = {.attempt_delay_ns = -1};
    ck_assert_int_eq(loom_tcp_connect_addrinfo(ai, &seq, LOOM_MS(400)), -ETIMEDOUT);
    close_all(eps, 2);
    return 0;
}

START_TEST(test_blackhole_then_good) { ck_assert_int_eq(test_run_task(blackhole_main, NULL), 0); }
END_TEST

/* A refusal starts the next attempt at once, whatever the delay. */
static intptr_t refused_main(void *arg)
{
    struct endpoint eps[2];
    struct addrinfo ai[2];
    endpoint_open(&eps[0], REFUSED, AF_INET);
    endpoint_open(&eps[1], GOOD, AF_INET);
    struct loom_connect_options o = {.attempt_delay_ns = LOOM_SEC(30)};
    double t0 = test_now();
    int fd = loom_tcp_connect_addrinfo(as_list(eps, 2, ai), &o, LOOM_SEC(60));
    ck_assert_int_ge(fd, 0);
    ck_assert(test_now() - t0 < 10);
    ck_assert_int_eq(peer_port(fd), eps[1].port);
    close(fd);
    /* all refused: the error, not a timeout */
    endpoint_close(&eps[1]);
    endpoint_open(&eps[1], REFUSED, AF_INET6);
    ck_assert_int_eq(loom_tcp_connect_addrinfo(as_list(eps, 2, ai), &o, LOOM_SEC(60)),
                     -ECONNREFUSED);
    /* nothing usable */
    ck_assert_int_eq(loom_tcp_connect_addrinfo(NULL, NULL, LOOM_SEC(1)), LOOM_EDNS);
    struct loom_connect_options v4 = {.family = AF_INET};
    ck_assert_int_eq(loom_tcp_connect_addrinfo(&ai[1], &v4, LOOM_SEC(1)), LOOM_EDNS);
    struct loom_connect_options bad = {.family = AF_UNIX};
    ck_assert_int_eq(loom_tcp_connect_addrinfo(ai, &bad, LOOM_SEC(1)), -EINVAL);
    close_all(eps, 2);
    return 0;
}

START_TEST(test_refused) { ck_assert_int_eq(test_run_task(refused_main, NULL), 0); }
END_TEST

/* Families alternate: [v6 blackhole, v6 good, v4 good] tries the v4 address
 * second, so it wins; in the resolver's order the v6 one would. */
static intptr_t interleave_main(void *arg)
{
    struct endpoint eps[3];
    struct addrinfo ai[3];
    endpoint_open(&eps[0], BLACKHOLE, AF_INET6);
    endpoint_open(&eps[1], GOOD, AF_INET6);
    endpoint_open(&eps[2], GOOD, AF_INET);
    struct loom_connect_options o = {.attempt_delay_ns = LOOM_MS(50)};
    int fd = loom_tcp_connect_addrinfo(as_list(eps, 3, ai), &o, LOOM_SEC(10));
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_port(fd), eps[2].port);
    close(fd);
    o.keep_order = true;
    fd = loom_tcp_connect_addrinfo(ai, &o, LOOM_SEC(10));
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_port(fd), eps[1].port);
    close(fd);
    /* one family only */
    o.keep_order = false;
    o.family = AF_INET6;
    fd = loom_tcp_connect_addrinfo(&ai[1], &o, LOOM_SEC(10));
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_port(fd), eps[1].port);
    close(fd);
    close_all(eps, 3);
    return 0;
}

START_TEST(test_interleave) { ck_assert_int_eq(test_run_task(interleave_main, NULL), 0); }
END_TEST

/* A quick winner: the next attempt never starts (its listener sees nothing). */
static intptr_t first_wins_main(void *arg)
{
    struct endpoint eps[2];
    struct addrinfo ai[2];
    endpoint_open(&eps[0], GOOD, AF_INET);
    endpoint_open(&eps[1], GOOD, AF_INET6);
    int fd = loom_tcp_connect_addrinfo(as_list(eps, 2, ai), NULL, LOOM_SEC(10));
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_port(fd), eps[0].port);
    int in = loom_listener_accept(&eps[0].l, LOOM_SEC(5));
    ck_assert_int_ge(in, 0);
    ck_assert_int_eq(loom_listener_accept(&eps[1].l, LOOM_MS(400)), -ETIMEDOUT);
    close(in);
    close(fd);
    close_all(eps, 2);
    return 0;
}

START_TEST(test_first_wins) { ck_assert_int_eq(test_run_task(first_wins_main, NULL), 0); }
END_TEST

struct race_arg {
    struct addrinfo *ai;
    int64_t timeout;
};

static intptr_t race_task(void *arg)
{
    struct race_arg *r = arg;
    int fd = loom_tcp_connect_addrinfo(r->ai, NULL, r->timeout);
    if (fd >= 0)
        close(fd);
    return fd;
}

/* Only blackholes: the overall timeout ends the race, a cancel too; every
 * attempt's fd is closed either way (fixture). */
static intptr_t all_blackholes_main(void *arg)
{
    struct endpoint eps[3];
    struct addrinfo ai[3];
    endpoint_open(&eps[0], BLACKHOLE, AF_INET);
    endpoint_open(&eps[1], BLACKHOLE, AF_INET6);
    endpoint_open(&eps[2], BLACKHOLE, AF_INET);
    double t0 = test_now();
    ck_assert_int_eq(loom_tcp_connect_addrinfo(as_list(eps, 3, ai), NULL, LOOM_MS(700)),
                     -ETIMEDOUT);
    ck_assert(test_now() - t0 >= 0.65);
    struct race_arg r = {ai, -1};
    struct loom_task *t = loom_spawn(race_task, &r, "race");
    loom_sleep(LOOM_MS(600)); /* all three attempts are pending by now */
    ck_assert(loom_task_cancel(t));
    ck_assert_int_eq(loom_task_join(t), -ECANCELED);
    close_all(eps, 3);
    return 0;
}

START_TEST(test_all_blackholes) { ck_assert_int_eq(test_run_task(all_blackholes_main, NULL), 0); }
END_TEST

/* More addresses than LOOM_CONNECT_MAX_ADDRS: the rest are ignored. */
static intptr_t many_main(void *arg)
{
    enum { N = LOOM_CONNECT_MAX_ADDRS + 8 };
    static struct endpoint eps[N];
    static struct addrinfo ai[N];
    for (int i = 0; i < N - 1; i++)
        endpoint_open(&eps[i], REFUSED, i % 2 ? AF_INET : AF_INET6);
    endpoint_open(&eps[N - 1], GOOD, AF_INET); /* beyond the limit: never tried */
    ck_assert_int_eq(loom_tcp_connect_addrinfo(as_list(eps, N, ai), NULL, LOOM_SEC(10)),
                     -ECONNREFUSED);
    ck_assert_int_eq(loom_listener_accept(&eps[N - 1].l, LOOM_MS(100)), -ETIMEDOUT);
    close_all(eps, N);
    return 0;
}

START_TEST(test_many_addresses) { ck_assert_int_eq(test_run_task(many_main, NULL), 0); }
END_TEST

/* By name and by number through loom_tcp_connect_with / loom_tcp_connect. */
static intptr_t names_main(void *arg)
{
    struct endpoint ep;
    endpoint_open(&ep, GOOD, AF_INET);
    int fd = loom_tcp_connect_with("localhost", ep.port, NULL, LOOM_SEC(10));
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(peer_port(fd), ep.port);
    close(fd);
    struct loom_connect_options v6 = {.family = AF_INET6};
    ck_assert_int_eq(loom_tcp_connect_with("127.0.0.1", ep.port, &v6, LOOM_SEC(10)), LOOM_EDNS);
    ck_assert_int_eq(loom_tcp_connect_with("127.0.0.1", 70000, NULL, LOOM_SEC(10)), -EINVAL);
    ck_assert_int_eq(loom_tcp_connect_with("no-such-host.invalid", 80, NULL, LOOM_SEC(10)),
                     LOOM_EDNS);
    struct loom_stream *s;
    ck_assert_int_eq(loom_tcp_connect("127.0.0.1", ep.port, LOOM_SEC(10), &s), 0);
    loom_stream_close(s);
    endpoint_close(&ep);
    loom_sleep(LOOM_MS(50)); /* let the resolver helper tasks finish */
    return 0;
}

START_TEST(test_names) { ck_assert_int_eq(test_run_task(names_main, NULL), 0); }
END_TEST

int main(void)
{
    Suite *s = suite_create("net_eyeballs");
    TCase *tc = test_tcase(s, "race", 60);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_blackhole_then_good);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_interleave);
    tcase_add_test(tc, test_first_wins);
    tcase_add_test(tc, test_all_blackholes);
    tcase_add_test(tc, test_many_addresses);
    tcase_add_test(tc, test_names);
    return test_main(s);
}
