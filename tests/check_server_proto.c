/* check_server_proto.c - protocol-callback servers (asyncio create_server
 * with a protocol factory): per-connection protocol state from the factory,
 * echo with plain and zero-copy (buffered) protocols, refused connections,
 * the connection limit, shutdown aborting what is left after the grace time,
 * close/abort of the clients (RST with unread data in flight), and a server
 * freed while connections are open. Clients are loom streams on 127.0.0.1. */
#include "harness/harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/server.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "net/transport.h"
#include "reactor/error.h"
#include "reactor/task.h"

/* --- the protocols --- */

/* Shared counters (the factory's arg). */
struct stats {
    int made, lost, eofs, resets, refused;
    bool refuse;    /* the factory refuses every connection */
    bool buffered;  /* hand out the zero-copy protocol */
    bool greet;     /* send "hello\n" in connection_made */
    bool echo_data; /* echo what arrives */
};

/* Per connection, made by the factory, freed in connection_lost. */
struct conn_state {
    struct stats *st;
    char buf[16]; /* buffered protocol: the receive buffer */
};

static void c_made(struct loom_transport *t, void *arg)
{
    struct conn_state *c = arg;
    c->st->made++;
    if (c->st->greet)
        loom_transport_write(t, "hello\n", 6);
}

static void c_data(struct loom_transport *t, const void *d, size_t n, void *arg)
{
    struct conn_state *c = arg;
    if (c->st->echo_data)
        loom_transport_write(t, d, n);
}

static bool c_eof(struct loom_transport *t, void *arg)
{
    ((struct conn_state *)arg)->st->eofs++;
    return false;
}

static void c_lost(struct loom_transport *t, int err, void *arg)
{
    struct conn_state *c = arg;
    c->st->lost++;
    if (err)
        c->st->resets++;
    free(c);
}

static void *c_get(struct loom_transport *t, size_t hint, size_t *len, void *arg)
{
    struct conn_state *c = arg;
    *len = sizeof c->buf;
    return c->buf;
}

static void c_updated(struct loom_transport *t, size_t n, void *arg)
{
    struct conn_state *c = arg;
    if (c->st->echo_data)
        loom_transport_write(t, c->buf, n);
}

static const struct loom_protocol plain = {
    .connection_made = c_made,
    .data_received = c_data,
    .eof_received = c_eof,
    .connection_lost = c_lost,
};

static const struct loom_protocol buffered = {
    .connection_made = c_made,
    .eof_received = c_eof,
    .connection_lost = c_lost,
    .get_buffer = c_get,
    .buffer_updated = c_updated,
};

static const struct loom_protocol *factory(void *arg, void **conn_arg)
{
    struct stats *st = arg;
    if (st->refuse) {
        st->refused++;
        return NULL;
    }
    struct conn_state *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    c->st = st;
    *conn_arg = c;
    return st->buffered ? &buffered : &plain;
}

/* --- helpers --- */

static struct loom_server *start(struct loom_server_options *o, struct stats *st)
{
    struct loom_server *srv;
    int rc = loom_server_start_protocol(loom_loop_current(), o, factory, st, &srv);
    ck_assert_msg(rc == 0, "start: %s", loom_strerror(rc));
    return srv;
}

static struct loom_stream *dial(struct loom_server *srv)
{
    struct loom_stream *c;
    int rc = loom_tcp_connect("127.0.0.1", loom_server_port(srv), LOOM_SEC(5), &c);
    ck_assert_msg(rc == 0, "connect: %s", loom_strerror(rc));
    return c;
}

static void wait_int(const int *v, int want)
{
    for (int i = 0; i < 5000 && *v != want; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(*v, want);
}

static void wait_conns(struct loom_server *srv, size_t n)
{
    for (int i = 0; i < 5000 && loom_server_connections(srv) != n; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(loom_server_connections(srv), n);
}

static void expect(struct loom_stream *c, const char *want)
{
    char buf[2048];
    ck_assert_uint_lt(strlen(want), sizeof buf);
    ssize_t n = loom_stream_readexactly(c, buf, strlen(want), LOOM_SEC(5));
    ck_assert_msg(n == (ssize_t)strlen(want), "read: %s", loom_strerror((int)n));
    buf[n] = '\0';
    ck_assert_str_eq(buf, want);
}

/* --- tests --- */

/* Echo over several connections, plain then zero-copy; each connection's
 * state comes from the factory and is freed in connection_lost. */
static void echo_round(bool zero_copy)
{
    struct stats st = {.echo_data = true, .buffered = zero_copy};
    struct loom_server_options o = {0};
    struct loom_server *srv = start(&o, &st);
    struct loom_stream *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = dial(srv);
    char big[1000];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)('a' + i % 26);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(loom_stream_write(c[i], big, strlen(big)), 0);
        expect(c[i], big); /* many 16-byte reads in the buffered case */
    }
    wait_conns(srv, 3);
    ck_assert_int_eq(st.made, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(loom_stream_write_eof(c[i]), 0);
        char x;
        ck_assert_int_eq(loom_stream_read_some(c[i], &x, 1, LOOM_SEC(5)), LOOM_EOF);
        loom_stream_close(c[i]);
    }
    wait_int(&st.lost, 3);
    ck_assert_int_eq(st.eofs, 3);
    ck_assert_int_eq(st.resets, 0);
    wait_conns(srv, 0);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
}

static intptr_t echo_main(void *arg)
{
    echo_round(false);
    echo_round(true);
    return 0;
}

START_TEST(test_echo) { ck_assert_int_eq(test_run_task(echo_main, NULL), 0); }
END_TEST

/* The factory says no: the client's connection ends, no callback runs. */
static intptr_t refuse_main(void *arg)
{
    struct stats st = {.refuse = true};
    struct loom_server_options o = {0};
    struct loom_server *srv = start(&o, &st);
    struct loom_stream *c = dial(srv);
    char x;
    ssize_t n = loom_stream_read_some(c, &x, 1, LOOM_SEC(5));
    ck_assert_msg(n == LOOM_EOF || n == -ECONNRESET, "read %zd", n);
    loom_stream_close(c);
    wait_conns(srv, 0);
    ck_assert_int_eq(st.refused, 1);
    ck_assert_int_eq(st.made + st.lost, 0);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    return 0;
}

START_TEST(test_refuse) { ck_assert_int_eq(test_run_task(refuse_main, NULL), 0); }
END_TEST

static intptr_t max_conns_main(void *arg)
{
    struct stats st = {.greet = true};
    struct loom_server_options o = {.max_connections = 2};
    struct loom_server *srv = start(&o, &st);
    struct loom_stream *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = dial(srv); /* the third waits in the backlog */
    expect(c[0], "hello\n");
    expect(c[1], "hello\n");
    char buf[8];
    ck_assert_int_eq(loom_stream_read_some(c[2], buf, sizeof buf, LOOM_MS(50)), -ETIMEDOUT);
    ck_assert_int_eq(loom_server_connections(srv), 2);
    loom_stream_close(c[0]);
    expect(c[2], "hello\n"); /* accepted once a slot freed */
    ck_assert_int_eq(loom_server_accepted(srv), 3);
    loom_stream_close(c[1]);
    loom_stream_close(c[2]);
    wait_int(&st.lost, 3);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    return 0;
}

START_TEST(test_max_conns) { ck_assert_int_eq(test_run_task(max_conns_main, NULL), 0); }
END_TEST

/* Connections that never end are aborted after the grace time. */
static intptr_t shutdown_main(void *arg)
{
    struct stats st = {.greet = true};
    struct loom_server_options o = {.grace_ns = LOOM_MS(100)};
    struct loom_server *srv = start(&o, &st);
    int port = loom_server_port(srv);
    struct loom_stream *c[2];
    for (int i = 0; i < 2; i++) {
        c[i] = dial(srv);
        expect(c[i], "hello\n");
    }
    double t0 = test_now();
    ck_assert_int_eq(loom_server_shutdown(srv, -1), 2);
    ck_assert(test_now() - t0 >= 0.08);
    ck_assert_int_eq(st.lost, 2); /* shutdown returns after every connection_lost */
    for (int i = 0; i < 2; i++) {
        char x;
        ssize_t n = loom_stream_read_some(c[i], &x, 1, LOOM_SEC(5));
        ck_assert_msg(n == -ECONNRESET || n == LOOM_EOF, "read %zd", n);
        loom_stream_close(c[i]);
    }
    struct loom_stream *d;
    ck_assert_int_eq(loom_tcp_connect("127.0.0.1", port, LOOM_SEC(5), &d), -ECONNREFUSED);
    loom_server_free(srv);
    return 0;
}

START_TEST(test_shutdown) { ck_assert_int_eq(test_run_task(shutdown_main, NULL), 0); }
END_TEST

/* abort_clients with client data the protocol never consumed in flight: RST. */
static intptr_t abort_main(void *arg)
{
    struct stats st = {.greet = true};
    struct loom_server_options o = {0};
    struct loom_server *srv = start(&o, &st);
    struct loom_stream *c[2];
    static char junk[300000];
    for (int i = 0; i < 2; i++) {
        c[i] = dial(srv);
        expect(c[i], "hello\n");
        ck_assert_int_eq(loom_stream_write(c[i], junk, sizeof junk), 0);
    }
    ck_assert_int_eq(loom_server_abort_clients(srv), 2);
    for (int i = 0; i < 2; i++) {
        char x;
        ssize_t n = loom_stream_read_some(c[i], &x, 1, LOOM_SEC(5));
        ck_assert_msg(n == -ECONNRESET, "read %zd (%s), not a reset", n, loom_strerror((int)n));
        loom_stream_close(c[i]);
    }
    wait_int(&st.lost, 2);
    wait_conns(srv, 0);
    struct loom_stream *d = dial(srv); /* still accepting */
    expect(d, "hello\n");
    /* close_clients: what was written goes first, then a clean EOF */
    ck_assert_int_eq(loom_server_close_clients(srv), 1);
    char x;
    ck_assert_int_eq(loom_stream_read_some(d, &x, 1, LOOM_SEC(5)), LOOM_EOF);
    loom_stream_close(d);
    wait_int(&st.lost, 3);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    return 0;
}

START_TEST(test_abort_close) { ck_assert_int_eq(test_run_task(abort_main, NULL), 0); }
END_TEST

/* Freed with connections open, no shutdown: each gets connection_lost (its
 * state is freed: LeakSanitizer would see it otherwise) and the loop ends
 * empty (the harness checks). */
static intptr_t free_running_main(void *arg)
{
    static struct stats st;
    memset(&st, 0, sizeof st);
    st.greet = true;
    struct loom_server_options o = {0};
    struct loom_server *srv = start(&o, &st);
    struct loom_stream *c = dial(srv);
    expect(c, "hello\n");
    loom_server_free(srv);
    wait_int(&st.lost, 1);
    loom_stream_close(c);
    return 0;
}

START_TEST(test_free_running) { ck_assert_int_eq(test_run_task(free_running_main, NULL), 0); }
END_TEST

/* Bad arguments. */
static intptr_t args_main(void *arg)
{
    struct loom_server_options o = {0};
    struct loom_server *srv;
    ck_assert_int_eq(loom_server_start_protocol(loom_loop_current(), &o, NULL, NULL, &srv),
                     -EINVAL);
    ck_assert_int_eq(loom_server_start(loom_loop_current(), &o, NULL, NULL, &srv), -EINVAL);
    return 0;
}

START_TEST(test_args) { ck_assert_int_eq(test_run_task(args_main, NULL), 0); }
END_TEST

int main(void)
{
    Suite *s = suite_create("server_proto");
    TCase *tc = test_tcase(s, "proto", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_echo);
    tcase_add_test(tc, test_refuse);
    tcase_add_test(tc, test_max_conns);
    tcase_add_test(tc, test_shutdown);
    tcase_add_test(tc, test_abort_close);
    tcase_add_test(tc, test_free_running);
    tcase_add_test(tc, test_args);
    return test_main(s);
}
