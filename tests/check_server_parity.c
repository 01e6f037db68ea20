/* check_server_parity.c - what asyncio's create_server does beyond stream
 * handlers: listening on every address of several hosts (IPv4 and IPv6
 * loopback, names, duplicates, a name that resolves to nothing, a port taken
 * on one of the addresses); ending a server's clients, closed (FIN) or
 * aborted (RST) with unread data in flight, while it goes on accepting; and
 * protocol-callback servers (a protocol factory, plain and zero-copy
 * protocols, refused connections, the connection limit, shutdown aborting
 * what is left after the grace time, a server freed while connections are
 * open). Clients are loom streams; IPv6 loopback is required (the suite fails
 * without it). */
#include "harness/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/server.h"
#include "net/stream.h"
#include "net/tcp.h"
#include "net/transport.h"
#include "reactor/error.h"
#include "reactor/task.h"

/* --- helpers --- */

static struct loom_stream *dial(const char *host, int port)
{
    struct loom_stream *c;
    int rc = loom_tcp_connect(host, port, LOOM_SEC(5), &c);
    ck_assert_msg(rc == 0, "connect %s:%d: %s", host, port, loom_strerror(rc));
    return c;
}

static void wait_conns(struct loom_server *srv, size_t n)
{
    for (int i = 0; i < 5000 && loom_server_connections(srv) != n; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(loom_server_connections(srv), n);
}

static void wait_int(const int *v, int want)
{
    for (int i = 0; i < 5000 && *v != want; i++)
        loom_sleep(LOOM_MS(1));
    ck_assert_int_eq(*v, want);
}

/* The connection must end: with a RST, or (or_eof) a RST or a clean EOF. */
static void expect_end(struct loom_stream *c, bool or_eof)
{
    char x;
    ssize_t n = loom_stream_read_some(c, &x, 1, LOOM_SEC(5));
    ck_assert_msg(n == -ECONNRESET || (or_eof && n == LOOM_EOF), "read %zd (%s)", n,
                  loom_strerror((int)n));
}

/* Accept one connection on l and check it came from a client. */
static void accept_one(struct loom_listener *l)
{
    int fd = loom_listener_accept(l, LOOM_SEC(5));
    ck_assert_int_ge(fd, 0);
    close(fd);
}

/* Line echo until EOF. */
static intptr_t echo(struct loom_stream *s, void *arg)
{
    char line[256];
    for (;;) {
        ssize_t n = loom_stream_readline(s, line, sizeof line, -1);
        if (n < 0)
            return n == LOOM_EOF ? 0 : n;
        loom_stream_write(s, line, (size_t)n);
        int rc = loom_stream_drain(s, -1);
        if (rc < 0)
            return rc;
    }
}

/* Says hello, then waits without reading anything (until cancelled). */
static intptr_t hello_then_wait(struct loom_stream *s, void *arg)
{
    loom_stream_write(s, "hello\n", 6);
    int rc = loom_stream_flush(s, LOOM_SEC(5));
    if (rc < 0)
        return rc;
    return loom_sleep(LOOM_SEC(60));
}

/* --- loom_tcp_listen_all --- */

static intptr_t listen_all_main(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    struct loom_listener ls[4];
    const char *both[] = {"127.0.0.1", "::1", "127.0.0.1", NULL}; /* one repeated */
    int n = loom_tcp_listen_all(loop, ls, 4, both, 0, 0, 0);
    ck_assert_msg(n == 2, "listen_all: %d (%s)", n, n < 0 ? loom_strerror(n) : "");
    int port = loom_listener_port(&ls[0]);
    ck_assert_int_gt(port, 0);
    ck_assert_int_eq(loom_listener_port(&ls[1]), port); /* one port for all */
    char name[64], want[64];
    ck_assert_int_eq(loom_listener_name(&ls[1], name, sizeof name), 0);
    snprintf(want, sizeof want, "[::1]:%d", port);
    ck_assert_str_eq(name, want);
    struct loom_stream *a = dial("127.0.0.1", port), *b = dial("::1", port);
    accept_one(&ls[0]);
    accept_one(&ls[1]);
    loom_stream_close(a);
    loom_stream_close(b);
    for (int i = 0; i < n; i++)
        loom_listener_close(&ls[i]);
    /* a name binds what it resolves to (here at least one loopback address) */
    const char *local[] = {"localhost", NULL};
    n = loom_tcp_listen_all(loop, ls, 4, local, 0, 0, 0);
    ck_assert_int_ge(n, 1);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(loom_listener_name(&ls[i], name, sizeof name), 0);
        ck_assert_msg(!strncmp(name, "127.", 4) || !strncmp(name, "[::1]", 5), "bound %s", name);
        loom_listener_close(&ls[i]);
    }
    return 0;
}

START_TEST(test_listen_all) { ck_assert_int_eq(test_run_task(listen_all_main, NULL), 0); }
END_TEST

static intptr_t listen_all_errors_main(void *arg)
{
    struct loom_loop *loop = loom_loop_current();
    struct loom_listener ls[4];
    /* a name that resolves to nothing: nothing stays open (fixture), even the
     * address before it in the list */
    const char *bad[] = {"127.0.0.1", "no-such-host.invalid", NULL};
    ck_assert_int_eq(loom_tcp_listen_all(loop, ls, 4, bad, 0, 0, 0), LOOM_EDNS);
    /* more addresses than room */
    const char *two[] = {"127.0.0.1", "::1", NULL};
    ck_assert_int_eq(loom_tcp_listen_all(loop, ls, 1, two, 0, 0, 0), -ENOSPC);
    ck_assert_int_eq(loom_tcp_listen_all(loop, ls, 0, two, 0, 0, 0), -EINVAL);
    ck_assert_int_eq(loom_tcp_listen_all(loop, ls, 4, two, 65536, 0, 0), -EINVAL);
    /* the port is taken on the second address: the first is let go again */
    struct loom_listener taken;
    ck_assert_int_eq(loom_tcp_listen(loop, &taken, "::1", 0, 0, LOOM_LISTEN_V6ONLY), 0);
    int port = loom_listener_port(&taken);
    ck_assert_int_eq(loom_tcp_listen_all(loop, ls, 4, two, port, 0, 0), -EADDRINUSE);
    struct loom_listener again;
    ck_assert_int_eq(loom_tcp_listen(loop, &again, "127.0.0.1", port, 0, 0), 0);
    loom_listener_close(&again);
    loom_listener_close(&taken);
    loom_sleep(LOOM_MS(50)); /* let the resolver's helper task finish */
    return 0;
}

START_TEST(test_listen_all_errors)
{
    ck_assert_int_eq(test_run_task(listen_all_errors_main, NULL), 0);
}
END_TEST

/* --- servers on several addresses --- */

static intptr_t server_hosts_main(void *arg)
{
    const char *hosts[] = {"127.0.0.1", "::1", NULL};
    struct loom_server_options o = {.hosts = hosts};
    struct loom_server *srv;
    ck_assert_int_eq(loom_server_start(loom_loop_current(), &o, echo, NULL, &srv), 0);
    ck_assert_uint_eq(loom_server_listeners(srv), 2);
    int port = loom_server_port(srv);
    char name[64], want[64];
    ck_assert_int_eq(loom_server_listener_name(srv, 1, name, sizeof name), 0);
    snprintf(want, sizeof want, "[::1]:%d", port);
    ck_assert_str_eq(name, want);
    ck_assert_int_eq(loom_server_listener_name(srv, 2, name, sizeof name), -ERANGE);
    struct loom_stream *c4 = dial("127.0.0.1", port), *c6 = dial("::1", port);
    char line[32];
    ck_assert_int_eq(loom_stream_write(c4, "four\n", 5), 0);
    ck_assert_int_eq(loom_stream_write(c6, "six\n", 4), 0);
    ck_assert_int_eq(loom_stream_readline(c4, line, sizeof line, LOOM_SEC(5)), 5);
    ck_assert_int_eq(loom_stream_readline(c6, line, sizeof line, LOOM_SEC(5)), 4);
    ck_assert_str_eq(line, "six\n");
    wait_conns(srv, 2);
    loom_stream_close(c4);
    loom_stream_close(c6);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    /* neither address listens any more */
    struct loom_stream *c;
    ck_assert_int_eq(loom_tcp_connect("::1", port, LOOM_SEC(5), &c), -ECONNREFUSED);
    ck_assert_int_eq(loom_tcp_connect("127.0.0.1", port, LOOM_SEC(5), &c), -ECONNREFUSED);
    loom_server_free(srv);
    /* a host that resolves to nothing */
    struct loom_server_options bad = {.host = "no-such-host.invalid"};
    ck_assert_int_eq(loom_server_start(loom_loop_current(), &bad, echo, NULL, &srv), LOOM_EDNS);
    loom_sleep(LOOM_MS(50));
    return 0;
}

START_TEST(test_server_hosts) { ck_assert_int_eq(test_run_task(server_hosts_main, NULL), 0); }
END_TEST

/* The connection limit holds across listeners: with one slot, a client on
 * the other address waits until the first leaves (each acceptor parks and is
 * woken when a slot frees). */
static intptr_t limit_across_main(void *arg)
{
    const char *hosts[] = {"127.0.0.1", "::1", NULL};
    struct loom_server_options o = {.hosts = hosts, .max_connections = 1};
    struct loom_server *srv;
    ck_assert_int_eq(loom_server_start(loom_loop_current(), &o, echo, NULL, &srv), 0);
    int port = loom_server_port(srv);
    char line[16];
    struct loom_stream *a = dial("127.0.0.1", port);
    ck_assert_int_eq(loom_stream_write(a, "a\n", 2), 0);
    ck_assert_int_eq(loom_stream_readline(a, line, sizeof line, LOOM_SEC(5)), 2);
    struct loom_stream *b = dial("::1", port); /* waits in the backlog */
    ck_assert_int_eq(loom_stream_write(b, "b\n", 2), 0);
    ck_assert_int_eq(loom_stream_readline(b, line, sizeof line, LOOM_MS(100)), -ETIMEDOUT);
    ck_assert_int_eq(loom_server_connections(srv), 1);
    loom_stream_close(a); /* its handler sees EOF and returns: a slot frees */
    ck_assert_int_eq(loom_stream_readline(b, line, sizeof line, LOOM_SEC(5)), 2);
    ck_assert_str_eq(line, "b\n");
    ck_assert_int_eq(loom_server_accepted(srv), 2);
    loom_stream_close(b);
    wait_conns(srv, 0);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    return 0;
}

START_TEST(test_limit_across_listeners)
{
    ck_assert_int_eq(test_run_task(limit_across_main, NULL), 0);
}
END_TEST

/* A server freed while serving on two addresses (no shutdown): everything is
 * cancelled and released by the loop (the harness checks it ends empty). */
static intptr_t server_free_running_main(void *arg)
{
    const char *hosts[] = {"127.0.0.1", "::1", NULL};
    struct loom_server_options o = {.hosts = hosts};
    struct loom_server *srv;
    ck_assert_int_eq(loom_server_start(loom_loop_current(), &o, hello_then_wait, NULL, &srv), 0);
    struct loom_stream *c = dial("::1", loom_server_port(srv));
    char line[16];
    ck_assert_int_eq(loom_stream_readline(c, line, sizeof line, LOOM_SEC(5)), 6);
    loom_server_free(srv);
    ck_assert_int_eq(loom_stream_readline(c, line, sizeof line, LOOM_SEC(5)), LOOM_EOF);
    loom_stream_close(c);
    return 0;
}

START_TEST(test_server_free_running)
{
    ck_assert_int_eq(test_run_task(server_free_running_main, NULL), 0);
}
END_TEST

/* --- ending the clients --- */

/* Abort with data the handler never read still in flight: the client gets a
 * RST (-ECONNRESET, not a clean EOF); the server goes on accepting. */
static intptr_t abort_clients_main(void *arg)
{
    struct loom_server_options o = {0};
    struct loom_server *srv;
    ck_assert_int_eq(loom_server_start(loom_loop_current(), &o, hello_then_wait, NULL, &srv), 0);
    int port = loom_server_port(srv);
    struct loom_stream *c[3];
    char line[16];
    static char junk[200000];
    for (int i = 0; i < 3; i++) {
        c[i] = dial("127.0.0.1", port);
        ck_assert_int_eq(loom_stream_readline(c[i], line, sizeof line, LOOM_SEC(5)), 6);
        ck_assert_int_eq(loom_stream_write(c[i], junk, sizeof junk), 0); /* never read */
    }
    wait_conns(srv, 3);
    ck_assert_int_eq(loom_server_abort_clients(srv), 3);
    for (int i = 0; i < 3; i++) {
        expect_end(c[i], false);
        loom_stream_close(c[i]);
    }
    wait_conns(srv, 0);
    struct loom_stream *d = dial("127.0.0.1", port); /* still accepting */
    ck_assert_int_eq(loom_stream_readline(d, line, sizeof line, LOOM_SEC(5)), 6);
    loom_stream_close(d);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_MS(100)), 1);
    ck_assert_int_eq(loom_server_abort_clients(srv), 0);
    loom_server_free(srv);
    return 0;
}

START_TEST(test_abort_clients) { ck_assert_int_eq(test_run_task(abort_clients_main, NULL), 0); }
END_TEST

/* Close: the handlers are cancelled and their streams end with a clean EOF. */
static intptr_t close_clients_main(void *arg)
{
    struct loom_server_options o = {0};
    struct loom_server *srv;
    ck_assert_int_eq(loom_server_start(loom_loop_current(), &o, hello_then_wait, NULL, &srv), 0);
    int port = loom_server_port(srv);
    struct loom_stream *c[2];
    char line[16];
    for (int i = 0; i < 2; i++) {
        c[i] = dial("127.0.0.1", port);
        ck_assert_int_eq(loom_stream_readline(c[i], line, sizeof line, LOOM_SEC(5)), 6);
    }
    wait_conns(srv, 2);
    ck_assert_int_eq(loom_server_close_clients(srv), 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(loom_stream_readline(c[i], line, sizeof line, LOOM_SEC(5)), LOOM_EOF);
        loom_stream_close(c[i]);
    }
    wait_conns(srv, 0);
    ck_assert_int_eq(loom_server_accepted(srv), 2);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    return 0;
}

START_TEST(test_close_clients) { ck_assert_int_eq(test_run_task(close_clients_main, NULL), 0); }
END_TEST

/* --- a handler that fails --- */

/* What the loop's exception handler was told. */
struct reports {
    int n;
    int error;
    char message[192], task[48];
};

static struct reports reports; /* static: checked again after the loop is freed */

static void record_report(struct loom_loop *loop, const struct loom_error_context *ctx, void *arg)
{
    struct reports *r = arg;
    r->n++;
    r->error = ctx->error;
    snprintf(r->message, sizeof r->message, "%s", ctx->message);
    snprintf(r->task, sizeof r->task, "%s", ctx->task ? loom_task_name(ctx->task) : "");
}

/* Greets, then returns minus the number the client sends. */
static intptr_t return_what_asked(struct loom_stream *s, void *arg)
{
    char line[32];
    loom_stream_write(s, "hello\n", 6);
    ssize_t n = loom_stream_readline(s, line, sizeof line, LOOM_SEC(5));
    if (n < 0)
        return n;
    loom_stream_write(s, "bye\n", 4); /* say why, then fail: still sent */
    return -atoi(line);
}

/* Connect, ask the handler to return -code, and wait for the connection to go. */
static struct loom_stream *ask(struct loom_server *srv, int code)
{
    struct loom_stream *c = dial("127.0.0.1", loom_server_port(srv));
    char line[32];
    ck_assert_int_eq(loom_stream_readline(c, line, sizeof line, LOOM_SEC(5)), 6);
    int n = snprintf(line, sizeof line, "%d\n", code);
    ck_assert_int_eq(loom_stream_write(c, line, (size_t)n), 0);
    ck_assert_int_eq(loom_stream_flush(c, LOOM_SEC(5)), 0);
    return c;
}

/* The handler's last words, then a FIN. */
static void expect_bye(struct loom_stream *c)
{
    char line[32];
    ck_assert_int_eq(loom_stream_readline(c, line, sizeof line, LOOM_SEC(5)), 4);
    ck_assert_int_eq(loom_stream_readline(c, line, sizeof line, LOOM_SEC(5)), LOOM_EOF);
}

/* asyncio reports an exception escaping client_connected_cb once through the
 * loop's exception handler, naming the connection, and closes it. loom: a
 * failure (a negative result that is no closing status) is reported once,
 * what the handler wrote still arrives before the FIN, and no "never
 * retrieved" report follows; a closing status (a reset, a timeout...) is not
 * reported. */
static intptr_t handler_fails_main(void *arg)
{
    loom_loop_set_exception_handler(loom_loop_current(), record_report, &reports);
    struct loom_server_options o = {0};
    struct loom_server *srv;
    ck_assert_int_eq(loom_server_start(loom_loop_current(), &o, return_what_asked, NULL, &srv), 0);
    struct loom_stream *c = ask(srv, EIO);
    expect_bye(c);
    wait_int(&reports.n, 1);
    ck_assert_int_eq(reports.error, -EIO);
    ck_assert_str_eq(reports.task, "conn");
    char me[64], want[128];
    ck_assert_int_eq(loom_stream_sockname(c, me, sizeof me), 0);
    snprintf(want, sizeof want, "Unhandled exception in client_connected_cb (peer %s)", me);
    ck_assert_str_eq(reports.message, want);
    loom_stream_close(c);
    wait_conns(srv, 0);
    const int quiet[] = {ECONNRESET, EPIPE, ETIMEDOUT, -LOOM_EOF, 0};
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) {
        c = ask(srv, quiet[i]);
        expect_bye(c);
        loom_stream_close(c);
        wait_conns(srv, 0);
    }
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    ck_assert_int_eq(reports.n, 1);
    return 0;
}

START_TEST(test_handler_fails)
{
    ck_assert_int_eq(test_run_task(handler_fails_main, NULL), 0);
    ck_assert_int_eq(reports.n, 1); /* nothing more when the loop was freed */
}
END_TEST

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

/* --- protocol server helpers --- */

static struct loom_server *start(struct loom_server_options *o, struct stats *st)
{
    struct loom_server *srv;
    int rc = loom_server_start_protocol(loom_loop_current(), o, factory, st, &srv);
    ck_assert_msg(rc == 0, "start: %s", loom_strerror(rc));
    return srv;
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

/* --- protocol servers --- */

/* Echo over several connections, plain then zero-copy; each connection's
 * state comes from the factory and is freed in connection_lost. */
static void echo_round(bool zero_copy)
{
    struct stats st = {.echo_data = true, .buffered = zero_copy};
    struct loom_server_options o = {0};
    struct loom_server *srv = start(&o, &st);
    struct loom_stream *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = dial("127.0.0.1", loom_server_port(srv));
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
    struct loom_stream *c = dial("127.0.0.1", loom_server_port(srv));
    expect_end(c, true);
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
        c[i] = dial("127.0.0.1", loom_server_port(srv)); /* the third waits in the backlog */
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
        c[i] = dial("127.0.0.1", loom_server_port(srv));
        expect(c[i], "hello\n");
    }
    double t0 = test_now();
    ck_assert_int_eq(loom_server_shutdown(srv, -1), 2);
    ck_assert(test_now() - t0 >= 0.08);
    ck_assert_int_eq(st.lost, 2); /* shutdown returns after every connection_lost */
    for (int i = 0; i < 2; i++) {
        expect_end(c[i], true);
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
        c[i] = dial("127.0.0.1", loom_server_port(srv));
        expect(c[i], "hello\n");
        ck_assert_int_eq(loom_stream_write(c[i], junk, sizeof junk), 0);
    }
    ck_assert_int_eq(loom_server_abort_clients(srv), 2);
    for (int i = 0; i < 2; i++) {
        expect_end(c[i], false);
        loom_stream_close(c[i]);
    }
    wait_int(&st.lost, 2);
    wait_conns(srv, 0);
    struct loom_stream *d = dial("127.0.0.1", loom_server_port(srv)); /* still accepting */
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
    struct loom_stream *c = dial("127.0.0.1", loom_server_port(srv));
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

/* A client that resets mid-stream: connection_lost gets the error, the
 * connection is untracked. */
static intptr_t peer_reset_main(void *arg)
{
    struct stats st = {.greet = true};
    struct loom_server_options o = {0};
    struct loom_server *srv = start(&o, &st);
    struct loom_stream *c = dial("127.0.0.1", loom_server_port(srv));
    expect(c, "hello\n");
    ck_assert_int_eq(loom_stream_write(c, "partial", 7), 0);
    ck_assert_int_eq(loom_stream_flush(c, LOOM_SEC(5)), 0);
    loom_stream_abort(c); /* RST */
    wait_int(&st.lost, 1);
    ck_assert_int_eq(st.resets, 1);
    wait_conns(srv, 0);
    ck_assert_int_eq(loom_server_shutdown(srv, LOOM_SEC(1)), 0);
    loom_server_free(srv);
    return 0;
}

START_TEST(test_peer_reset) { ck_assert_int_eq(test_run_task(peer_reset_main, NULL), 0); }
END_TEST

int main(void)
{
    Suite *s = suite_create("server_parity");
    TCase *tc = test_tcase(s, "listen_all", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_listen_all);
    tcase_add_test(tc, test_listen_all_errors);
    tc = test_tcase(s, "server", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_server_hosts);
    tcase_add_test(tc, test_server_free_running);
    tcase_add_test(tc, test_limit_across_listeners);
    tc = test_tcase(s, "clients", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_abort_clients);
    tcase_add_test(tc, test_close_clients);
    tcase_add_test(tc, test_handler_fails);
    tc = test_tcase(s, "proto", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_echo);
    tcase_add_test(tc, test_refuse);
    tcase_add_test(tc, test_max_conns);
    tcase_add_test(tc, test_shutdown);
    tcase_add_test(tc, test_abort_close);
    tcase_add_test(tc, test_free_running);
    tcase_add_test(tc, test_args);
    tcase_add_test(tc, test_peer_reset);
    return test_main(s);
}
