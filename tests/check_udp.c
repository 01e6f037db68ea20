/* check_udp.c - UDP endpoints: round trips over IPv4 and IPv6 with addresses,
 * truncation, timeouts, cancellation and close while waiting, several
 * receivers, batches, ICMP errors on a connected endpoint, multicast on lo,
 * the broadcast flag, and the datagram protocol API. */
#include "harness/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/stream.h"
#include "net/udp.h"
#include "reactor/task.h"

static void addr_of(struct loom_udp *u, const char *host, struct sockaddr_storage *ss,
                    socklen_t *len)
{
    ck_assert_int_eq(loom_sockaddr_parse(host, loom_udp_port(u), ss, len), 0);
}

static intptr_t round_trip_main(void *arg)
{
    const char *host = arg;
    struct loom_loop *loop = loom_loop_current();
    struct loom_udp *a, *b;
    ck_assert_int_eq(loom_udp_open(loop, host, 0, 0, &a), 0);
    ck_assert_int_eq(loom_udp_open(loop, host, 0, 0, &b), 0);
    ck_assert_int_ne(fcntl(loom_udp_fd(a), F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_ne(fcntl(loom_udp_fd(a), F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_gt(loom_udp_port(b), 0);
    struct sockaddr_storage to, from;
    socklen_t tolen, fromlen = sizeof from;
    addr_of(b, host, &to, &tolen);
    ck_assert_int_eq(loom_udp_sendto(a, "hello", 5, (struct sockaddr *)&to, tolen, LOOM_SEC(1)), 5);
    char buf[64];
    ck_assert_int_eq(loom_udp_recvfrom(b, buf, sizeof buf, &from, &fromlen, LOOM_SEC(5)), 5);
    ck_assert_mem_eq(buf, "hello", 5);
    char name[64], want[64];
    ck_assert_int_eq(loom_sockaddr_format((struct sockaddr *)&from, fromlen, name, sizeof name), 0);
    ck_assert_int_eq(loom_udp_sockname(a, want, sizeof want), 0);
    ck_assert_str_eq(name, want);
    /* An empty datagram, then one longer than the buffer (truncated). */
    ck_assert_int_eq(loom_udp_sendto(a, "", 0, (struct sockaddr *)&to, tolen, -1), 0);
    ck_assert_int_eq(loom_udp_recv(b, buf, sizeof buf, LOOM_SEC(5)), 0);
    ck_assert_int_eq(loom_udp_sendto(a, "0123456789", 10, (struct sockaddr *)&to, tolen, -1), 10);
    ck_assert_int_eq(loom_udp_recv(b, buf, 4, LOOM_SEC(5)), 4);
    ck_assert_mem_eq(buf, "0123", 4);
    /* Connected: send/recv without addresses, peername. */
    ck_assert_int_eq(loom_udp_connect(b, host, loom_udp_port(a)), 0);
    ck_assert_int_eq(loom_udp_peername(b, name, sizeof name), 0);
    ck_assert_str_eq(name, want);
    ck_assert_int_eq(loom_udp_send(b, "back", 4, LOOM_SEC(1)), 4);
    ck_assert_int_eq(loom_udp_recv(a, buf, sizeof buf, LOOM_SEC(5)), 4);
    ck_assert_mem_eq(buf, "back", 4);
    ck_assert_int_eq(loom_udp_connect(b, NULL, 0), 0);
    ck_assert_int_eq(loom_udp_peername(b, name, sizeof name), -ENOTCONN);
    ck_assert_int_eq(loom_udp_send(b, "x", 1, LOOM_SEC(1)), -EDESTADDRREQ);
    loom_udp_close(a);
    loom_udp_close(b);
    return 0;
}

START_TEST(test_ipv4) { ck_assert_int_eq(test_run_task(round_trip_main, "127.0.0.1"), 0); }
END_TEST
START_TEST(test_ipv6) { ck_assert_int_eq(test_run_task(round_trip_main, "::1"), 0); }
END_TEST

static intptr_t errors_main(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    struct loom_udp *a, *b;
    ck_assert_int_eq(loom_udp_open(loop, "not-an-address", 0, 0, &a), -EINVAL);
    ck_assert_int_eq(loom_udp_open(loop, "127.0.0.1", 70000, 0, &a), -EINVAL);
    ck_assert_int_eq(loom_udp_open(loop, "127.0.0.1", 0, 0, &a), 0);
    ck_assert_int_eq(loom_udp_open(loop, "127.0.0.1", loom_udp_port(a), 0, &b), -EADDRINUSE);
    ck_assert_int_eq(loom_udp_connect(a, "nope", 1), -EINVAL);
    int big = LOOM_UDP_MAX + 100;
    char *huge = calloc(1, (size_t)big);
    struct sockaddr_storage to;
    socklen_t tl;
    addr_of(a, "127.0.0.1", &to, &tl);
    ck_assert_int_eq(loom_udp_sendto(a, huge, (size_t)big, (struct sockaddr *)&to, tl, -1),
                     -EMSGSIZE);
    free(huge);
    /* Adopting: a stream socket is refused (and closed), a datagram one taken. */
    int sfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(loom_udp_open_fd(loop, sfd, &b), -EPROTOTYPE);
    int dfd = socket(AF_INET6, SOCK_DGRAM, 0);
    ck_assert_int_eq(loom_udp_open_fd(loop, dfd, &b), 0);
    ck_assert_int_eq(loom_udp_family(b), AF_INET6);
    ck_assert_int_ne(fcntl(dfd, F_GETFL) & O_NONBLOCK, 0);
    loom_udp_close(b);
    loom_udp_close(a);
    loom_udp_close(NULL);
    return 0;
}

START_TEST(test_errors) { ck_assert_int_eq(test_run_task(errors_main, NULL), 0); }
END_TEST

/* --- timeouts, cancellation, close while waiting, several receivers --- */

struct rx {
    struct loom_udp *u;
    ssize_t rc;
    char buf[16];
};

static intptr_t rx_task(void *arg)
{
    struct rx *r = arg;
    r->rc = loom_udp_recv(r->u, r->buf, sizeof r->buf, LOOM_SEC(5));
    return 0;
}

static intptr_t waits_main(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    struct loom_udp *u;
    ck_assert_int_eq(loom_udp_open(loop, "127.0.0.1", 0, 0, &u), 0);
    char buf[8];
    double t0 = test_now();
    ck_assert_int_eq(loom_udp_recv(u, buf, sizeof buf, LOOM_MS(50)), -ETIMEDOUT);
    double dt = test_now() - t0;
    ck_assert_msg(dt >= 0.045 && dt < 2.0, "timeout after %.3f s", dt);
    ck_assert_int_eq(loom_udp_recv(u, buf, sizeof buf, 0), -ETIMEDOUT);

    /* Cancelled receiver. */
    struct rx r1 = {u, 1, {0}};
    struct loom_task *t = loom_spawn(rx_task, &r1, "rx");
    loom_yield();
    loom_task_cancel(t);
    loom_task_join(t);
    loom_task_release(t);
    ck_assert_int_eq(r1.rc, -ECANCELED);

    /* Three receivers, three datagrams: each gets one. */
    struct rx rs[3] = {{u, 1, {0}}, {u, 1, {0}}, {u, 1, {0}}};
    struct loom_task *ts[3];
    for (int i = 0; i < 3; i++)
        ts[i] = loom_spawn(rx_task, &rs[i], "rx");
    loom_yield();
    struct loom_udp *s;
    ck_assert_int_eq(loom_udp_open(loop, "127.0.0.1", 0, 0, &s), 0);
    ck_assert_int_eq(loom_udp_connect(s, "127.0.0.1", loom_udp_port(u)), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(loom_udp_send(s, "abc", 3, -1), 3);
    for (int i = 0; i < 3; i++) {
        loom_task_join(ts[i]);
        loom_task_release(ts[i]);
        ck_assert_int_eq(rs[i].rc, 3);
    }

    /* Closed under a waiting receiver: -EBADF, and the memory outlives it. */
    struct rx r2 = {u, 1, {0}};
    t = loom_spawn(rx_task, &r2, "rx");
    loom_yield();
    loom_udp_close(u);
    loom_task_join(t);
    loom_task_release(t);
    ck_assert_int_eq(r2.rc, -EBADF);
    loom_udp_close(s);
    return 0;
}

START_TEST(test_waits) { ck_assert_int_eq(test_run_task(waits_main, NULL), 0); }
END_TEST

/* Outside a task a call that would wait says -EPERM; one that need not wait works. */
START_TEST(test_outside_task)
{
    struct loom_loop *loop = test_loop_new();
    struct loom_udp *u;
    ck_assert_int_eq(loom_udp_open(loop, "127.0.0.1", 0, 0, &u), 0);
    char buf[8];
    ck_assert_int_eq(loom_udp_recv(u, buf, sizeof buf, -1), -EPERM);
    ck_assert_int_eq(loom_udp_connect(u, "127.0.0.1", loom_udp_port(u)), 0);
    ck_assert_int_eq(loom_udp_send(u, "me", 2, -1), 2);
    ck_assert_int_eq(loom_udp_recv(u, buf, sizeof buf, -1), 2);
    loom_udp_close(u);
    test_loop_free(loop);
}
END_TEST

/* --- batches --- */

static intptr_t batch_main(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    struct loom_udp *a, *b;
    ck_assert_int_eq(loom_udp_open(loop, "127.0.0.1", 0, 0, &a), 0);
    ck_assert_int_eq(loom_udp_open(loop, "127.0.0.1", 0, 0, &b), 0);
    enum { N = 20 };
    struct loom_dgram out[N];
    char payload[N][24];
    for (int i = 0; i < N; i++) {
        memset(&out[i], 0, sizeof out[i]);
        snprintf(payload[i], sizeof payload[i], "dgram-%02d", i);
        out[i].buf = payload[i];
        out[i].len = strlen(payload[i]) + (i == N - 1 ? 6 : 0); /* the last is long */
        addr_of(b, "127.0.0.1", &out[i].addr, &out[i].addrlen);
    }
    int sent = 0;
    while (sent < N) {
        int n = loom_udp_send_batch(a, out + sent, (unsigned)(N - sent), LOOM_SEC(1));
        ck_assert_int_gt(n, 0);
        sent += n;
    }
    int got = 0;
    char in_buf[N][12];
    struct loom_dgram in[N];
    while (got < N) {
        for (int i = got; i < N; i++) {
            memset(&in[i], 0, sizeof in[i]);
            in[i].buf = in_buf[i];
            in[i].len = sizeof in_buf[i];
        }
        int n = loom_udp_recv_batch(b, in + got, (unsigned)(N - got), LOOM_SEC(5));
        ck_assert_int_gt(n, 0);
        got += n;
    }
    char aname[64];
    ck_assert_int_eq(loom_udp_sockname(a, aname, sizeof aname), 0);
    for (int i = 0; i < N; i++) {
        char from[64];
        ck_assert_int_eq(
            loom_sockaddr_format((struct sockaddr *)&in[i].addr, in[i].addrlen, from, sizeof from),
            0);
        ck_assert_str_eq(from, aname);
        if (i < N - 1) {
            ck_assert_uint_eq(in[i].len, 8);
            ck_assert_mem_eq(in[i].buf, payload[i], 8);
            ck_assert_uint_eq(in[i].flags, 0);
        } else {
            ck_assert_uint_eq(in[i].len, sizeof in_buf[i]);
            ck_assert_uint_eq(in[i].flags, LOOM_DGRAM_TRUNC);
        }
    }
    ck_assert_int_eq(loom_udp_recv_batch(b, in, 4, LOOM_MS(20)), -ETIMEDOUT);
    loom_udp_close(a);
    loom_udp_close(b);
    return 0;
}

START_TEST(test_batch) { ck_assert_int_eq(test_run_task(batch_main, NULL), 0); }
END_TEST

/* --- ICMP port unreachable on a connected endpoint --- */

static intptr_t icmp_main(void *arg)
{
    const char *host = arg;
    struct loom_loop *loop = loom_loop_current();
    struct loom_udp *gone, *u;
    ck_assert_int_eq(loom_udp_open(loop, host, 0, 0, &gone), 0);
    int port = loom_udp_port(gone);
    loom_udp_close(gone);
    ck_assert_int_eq(loom_udp_open(loop, host, 0, 0, &u), 0);
    ck_assert_int_eq(loom_udp_connect(u, host, port), 0);
    ck_assert_int_eq(loom_udp_send(u, "anyone?", 7, LOOM_SEC(1)), 7);
    char buf[16];
    ck_assert_int_eq(loom_udp_recv(u, buf, sizeof buf, LOOM_SEC(5)), -ECONNREFUSED);
    /* Reported once: the next recv waits (and times out). */
    ck_assert_int_eq(loom_udp_recv(u, buf, sizeof buf, LOOM_MS(30)), -ETIMEDOUT);
    loom_udp_close(u);
    return 0;
}

START_TEST(test_icmp_v4) { ck_assert_int_eq(test_run_task(icmp_main, "127.0.0.1"), 0); }
END_TEST
START_TEST(test_icmp_v6) { ck_assert_int_eq(test_run_task(icmp_main, "::1"), 0); }
END_TEST

/* --- multicast and broadcast on loopback --- */

static intptr_t multicast_main(void *arg)
{
    const char *v6 = arg;
    const char *any = v6 ? "::" : "0.0.0.0";
    const char *group = v6 ? "ff02::1:4c6f:6f6d" : "239.255.76.77";
    const char *iface = v6 ? "lo" : "127.0.0.1";
    struct loom_loop *loop = loom_loop_current();
    struct loom_udp *rx, *tx;
    ck_assert_int_eq(loom_udp_open(loop, any, 0, LOOM_UDP_REUSEADDR, &rx), 0);
    ck_assert_int_eq(loom_udp_join(rx, group, iface), 0);
    ck_assert_int_eq(loom_udp_join(rx, "not-a-group", iface), -EINVAL);
    ck_assert_int_eq(loom_udp_open(loop, any, 0, 0, &tx), 0);
    ck_assert_int_eq(loom_udp_set_multicast_if(tx, iface), 0);
    ck_assert_int_eq(loom_udp_set_multicast_loop(tx, true), 0);
    ck_assert_int_eq(loom_udp_set_multicast_ttl(tx, 1), 0);
    struct sockaddr_storage to;
    socklen_t tl;
    ck_assert_int_eq(loom_sockaddr_parse(group, loom_udp_port(rx), &to, &tl), 0);
    if (v6)
        ((struct sockaddr_in6 *)&to)->sin6_scope_id = if_nametoindex("lo");
    ssize_t n = loom_udp_sendto(tx, "mc", 2, (struct sockaddr *)&to, tl, LOOM_SEC(1));
    if (v6 && n == -ENETUNREACH) {
        /* Linux's lo has no MULTICAST flag and no ff00::/8 route: IPv6 multicast
         * cannot loop back on it. Joining and leaving were tested above. */
        ck_assert_int_eq(loom_udp_leave(rx, group, iface), 0);
        ck_assert_int_eq(loom_udp_leave(rx, group, iface), -EADDRNOTAVAIL);
        loom_udp_close(tx);
        loom_udp_close(rx);
        return 0;
    }
    ck_assert_int_eq(n, 2);
    char buf[8];
    ck_assert_int_eq(loom_udp_recv(rx, buf, sizeof buf, LOOM_SEC(5)), 2);
    ck_assert_mem_eq(buf, "mc", 2);
    /* After leaving, the group's datagrams no longer arrive. */
    ck_assert_int_eq(loom_udp_leave(rx, group, iface), 0);
    ck_assert_int_eq(loom_udp_sendto(tx, "mc", 2, (struct sockaddr *)&to, tl, LOOM_SEC(1)), 2);
    ck_assert_int_eq(loom_udp_recv(rx, buf, sizeof buf, LOOM_MS(100)), -ETIMEDOUT);
    loom_udp_close(tx);
    loom_udp_close(rx);
    return 0;
}

START_TEST(test_multicast_v4) { ck_assert_int_eq(test_run_task(multicast_main, NULL), 0); }
END_TEST
START_TEST(test_multicast_v6) { ck_assert_int_eq(test_run_task(multicast_main, "v6"), 0); }
END_TEST

/* 127.255.255.255 is lo's broadcast address: refused without SO_BROADCAST. */
static intptr_t broadcast_main(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    struct loom_udp *rx, *tx;
    ck_assert_int_eq(loom_udp_open(loop, NULL, 0, 0, &rx), 0);
    ck_assert_int_eq(loom_udp_open(loop, "127.0.0.1", 0, 0, &tx), 0);
    struct sockaddr_storage to;
    socklen_t tl;
    ck_assert_int_eq(loom_sockaddr_parse("127.255.255.255", loom_udp_port(rx), &to, &tl), 0);
    ck_assert_int_eq(loom_udp_sendto(tx, "b", 1, (struct sockaddr *)&to, tl, LOOM_SEC(1)), -EACCES);
    ck_assert_int_eq(loom_udp_set_broadcast(tx, true), 0);
    int on = 0;
    socklen_t ol = sizeof on;
    getsockopt(loom_udp_fd(tx), SOL_SOCKET, SO_BROADCAST, &on, &ol);
    ck_assert_int_eq(on, 1);
    ck_assert_int_eq(loom_udp_sendto(tx, "b", 1, (struct sockaddr *)&to, tl, LOOM_SEC(1)), 1);
    char buf[4];
    ck_assert_int_eq(loom_udp_recv(rx, buf, sizeof buf, LOOM_SEC(5)), 1);
    loom_udp_close(tx);
    loom_udp_close(rx);
    return 0;
}

START_TEST(test_broadcast) { ck_assert_int_eq(test_run_task(broadcast_main, NULL), 0); }
END_TEST

/* --- the datagram protocol: an echo server in callbacks --- */

struct echo {
    int received, errors, lost;
    struct loom_udp *u;
};

static void echo_received(struct loom_udp *u, const void *data, size_t len,
                          const struct sockaddr *from, socklen_t fromlen, void *arg)
{
    struct echo *e = arg;
    e->received++;
    if (len == 4 && !memcmp(data, "quit", 4)) {
        loom_udp_close(u); /* from inside the callback */
        return;
    }
    loom_udp_try_sendto(u, data, len, from, fromlen);
}

static void echo_error(struct loom_udp *u, int err, void *arg) { ((struct echo *)arg)->errors++; }
static void echo_lost(struct loom_udp *u, void *arg) { ((struct echo *)arg)->lost++; }

static const struct loom_datagram_protocol echo_proto = {echo_received, echo_error, echo_lost};

static intptr_t protocol_main(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    struct echo e = {0};
    struct loom_udp *c;
    ck_assert_int_eq(loom_udp_open(loop, "::1", 0, 0, &e.u), 0);
    ck_assert_int_eq(loom_udp_set_protocol(e.u, &echo_proto, &e), 0);
    char buf[16];
    ck_assert_int_eq(loom_udp_recv(e.u, buf, sizeof buf, 0), -EBUSY);
    ck_assert_int_eq(loom_udp_open(loop, "::1", 0, 0, &c), 0);
    ck_assert_int_eq(loom_udp_connect(c, "::1", loom_udp_port(e.u)), 0);
    for (int i = 0; i < 50; i++) {
        char msg[16];
        int n = snprintf(msg, sizeof msg, "ping %d", i);
        ck_assert_int_eq(loom_udp_send(c, msg, (size_t)n, LOOM_SEC(1)), n);
        ck_assert_int_eq(loom_udp_recv(c, buf, sizeof buf, LOOM_SEC(5)), n);
        ck_assert_mem_eq(buf, msg, (size_t)n);
    }
    ck_assert_int_eq(loom_udp_send(c, "quit", 4, LOOM_SEC(1)), 4);
    while (!e.lost)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(e.received, 51);
    ck_assert_int_eq(e.lost, 1);
    loom_udp_close(c);
    return 0;
}

START_TEST(test_protocol) { ck_assert_int_eq(test_run_task(protocol_main, NULL), 0); }
END_TEST

/* A protocol on a connected endpoint hears the ICMP error, then stops cleanly. */
static intptr_t protocol_error_main(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    struct echo e = {0};
    struct loom_udp *gone;
    ck_assert_int_eq(loom_udp_open(loop, "127.0.0.1", 0, 0, &gone), 0);
    int port = loom_udp_port(gone);
    loom_udp_close(gone);
    ck_assert_int_eq(loom_udp_open(loop, "127.0.0.1", 0, 0, &e.u), 0);
    ck_assert_int_eq(loom_udp_connect(e.u, "127.0.0.1", port), 0);
    ck_assert_int_eq(loom_udp_set_protocol(e.u, &echo_proto, &e), 0);
    ck_assert_int_eq(loom_udp_try_sendto(e.u, "x", 1, NULL, 0), 1);
    for (int i = 0; i < 5000 && !e.errors; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(e.errors, 1);
    ck_assert_int_eq(loom_udp_set_protocol(e.u, NULL, NULL), 0);
    loom_udp_close(e.u);
    ck_assert_int_eq(e.lost, 0); /* the protocol was removed before close */
    return 0;
}

START_TEST(test_protocol_error) { ck_assert_int_eq(test_run_task(protocol_error_main, NULL), 0); }
END_TEST

/* --- loom-echo --udp: a real program, datagrams of every size back, SIGTERM exits 0 --- */

static intptr_t app_main(void *arg)
{
    int port = (int)(intptr_t)arg;
    struct loom_udp *c;
    ck_assert_int_eq(loom_udp_open(loom_loop_current(), "127.0.0.1", 0, 0, &c), 0);
    ck_assert_int_eq(loom_udp_connect(c, "127.0.0.1", port), 0);
    static char out[LOOM_UDP_MAX], in[LOOM_UDP_MAX + 1];
    size_t sizes[] = {0, 1, 1400, 9000, LOOM_UDP_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (size_t k = 0; k < sizes[i]; k++)
            out[k] = (char)(k * 7 + i);
        ck_assert_int_eq(loom_udp_send(c, out, sizes[i], LOOM_SEC(1)), (ssize_t)sizes[i]);
        ck_assert_int_eq(loom_udp_recv(c, in, sizeof in, LOOM_SEC(5)), (ssize_t)sizes[i]);
        ck_assert_int_eq(memcmp(in, out, sizes[i]), 0);
    }
    /* A burst of 50 small datagrams comes back (far below the socket buffers: none dropped). */
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(loom_udp_send(c, &i, sizeof i, LOOM_SEC(1)), (ssize_t)sizeof i);
    int got = 0;
    while (got < 50 && loom_udp_recv(c, in, sizeof in, LOOM_SEC(5)) == (ssize_t)sizeof got)
        got++;
    ck_assert_int_eq(got, 50);
    loom_udp_close(c);
    return 0;
}

START_TEST(test_app_echo)
{
    char path[512];
    test_build_path("bin/loom-echo", path, sizeof path);
    char *argv[] = {path, "--udp", "--port", "0", NULL};
    struct test_server srv;
    test_server_start(&srv, argv);
    ck_assert_int_eq(test_run_task(app_main, (void *)(intptr_t)srv.port), 0);
    kill(srv.pid, SIGTERM);
    ck_assert_int_eq(test_server_wait(&srv, 10), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("udp");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"ipv4", test_ipv4},
        {"ipv6", test_ipv6},
        {"errors", test_errors},
        {"waits", test_waits},
        {"outside_task", test_outside_task},
        {"batch", test_batch},
        {"icmp_v4", test_icmp_v4},
        {"icmp_v6", test_icmp_v6},
        {"multicast_v4", test_multicast_v4},
        {"multicast_v6", test_multicast_v6},
        {"broadcast", test_broadcast},
        {"protocol", test_protocol},
        {"protocol_error", test_protocol_error},
        {"app_echo", test_app_echo},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 20);
        tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
