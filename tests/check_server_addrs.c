/* check_server_addrs.c - listening on every address of several hosts (IPv4
 * and IPv6 loopback, names, duplicates, a name that resolves to nothing, a
 * port taken on one of the addresses), and ending a server's clients: closed
 * (FIN) or aborted (RST), with unread data in flight, while it goes on
 * accepting. IPv6 loopback is required (the suite fails without it). */
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
        ssize_t n = loom_stream_read_some(c[i], line, sizeof line, LOOM_SEC(5));
        ck_assert_msg(n == -ECONNRESET, "client %d read %zd (%s), not a reset", i, n,
                      loom_strerror((int)n));
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

int main(void)
{
    Suite *s = suite_create("server_addrs");
    TCase *tc = test_tcase(s, "listen_all", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_listen_all);
    tcase_add_test(tc, test_listen_all_errors);
    tc = test_tcase(s, "server", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_server_hosts);
    tcase_add_test(tc, test_server_free_running);
    tc = test_tcase(s, "clients", 30);
    tcase_add_checked_fixture(tc, test_fixture_setup, test_fixture_teardown);
    tcase_add_test(tc, test_abort_clients);
    tcase_add_test(tc, test_close_clients);
    return test_main(s);
}
