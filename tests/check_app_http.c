/* check_app_http.c - loom-http as a process, held to a hardened server's bar:
 * safe paths (.., encoded dots, symlinks out of the root), directory index and
 * escaping, 2,000 idle keep-alive connections then all used at once, slowloris
 * connections that do not lock others out, a client that never reads a large
 * file (server memory stays bounded), a flood of malformed requests, workers,
 * strict options, and a clean exit on SIGTERM. */
#include "harness/harness.h"
#include "harness/netclient.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static void write_file(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* A root with a file, a subdirectory with an index, a name needing escapes,
 * a symlink inside and one that leads out, and a 64 MiB file. */
static void make_root(void)
{
    snprintf(root, sizeof root, "/tmp/loom-http-root-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    char path[256];
    write_file("a.txt", "alpha\n");
    snprintf(path, sizeof path, "%s/sub", root);
    mkdir(path, 0755);
    write_file("sub/index.html", "<p>sub index</p>\n");
    write_file("<script>x.txt", "x\n");
    snprintf(path, sizeof path, "%s/inside", root);
    ck_assert_int_eq(symlink("a.txt", path), 0);
    snprintf(path, sizeof path, "%s/outside", root);
    ck_assert_int_eq(symlink("/etc/hostname", path), 0);
    snprintf(path, sizeof path, "%s/big.bin", root);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 64 << 20), 0);
    close(fd);
}

static void remove_root(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}

static void start(struct test_server *s, const char *workers)
{
    char bin[256];
    test_build_path("bin/loom-http", bin, sizeof bin);
    char *argv[] = {bin, "--root", root, "--port", "0", "--workers", (char *)workers, NULL};
    test_server_start(s, argv);
}

static void stop(struct test_server *s)
{
    kill(s->pid, SIGTERM);
    ck_assert_int_eq(test_server_wait(s, 10), 0);
}

static const char *status_of(const char *resp)
{
    static char code[4];
    snprintf(code, sizeof code, "%.3s", strlen(resp) > 12 ? resp + 9 : "---");
    return code;
}

static const char *get(int port, const char *path)
{
    static char *last;
    free(last);
    char req[512];
    int n =
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    last = test_http_exchange(port, req, (size_t)n);
    return last;
}

START_TEST(test_paths)
{
    make_root();
    struct test_server s;
    start(&s, "1");
    static const struct {
        const char *path, *status;
    } cases[] = {
        {"/a.txt", "200"},
        {"/inside", "200"},
        {"/outside", "404"},
        {"/../etc/passwd", "404"},
        {"/%2e%2e/etc/passwd", "404"},
        {"/sub/../a.txt", "404"},
        {"/sub", "301"},
        {"/sub/", "200"},
        {"/nope", "404"},
        {"/a.txt%00.html", "400"},
        {"//etc/passwd", "404"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *out = get(s.port, cases[i].path);
        ck_assert_msg(!strcmp(status_of(out), cases[i].status), "%s: want %s, got:\n%.300s",
                      cases[i].path, cases[i].status, out);
    }
    const char *out = get(s.port, "/a.txt");
    TEST_IN_ORDER(out, "ETag:", "Content-Type: text/plain", "\r\n\r\nalpha\n");
    out = get(s.port, "/sub");
    ck_assert_contains(out, "Location: /sub/\r\n");
    out = get(s.port, "/sub/");
    ck_assert_contains(out, "<p>sub index</p>");
    out = get(s.port, "/");
    ck_assert_contains(out, "&lt;script&gt;x.txt");
    ck_assert_msg(!strstr(out, "<script>"), "listing not escaped:\n%s", out);
    out = TEST_HTTP_EXCHANGE(s.port, "DELETE /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    TEST_IN_ORDER(out, "HTTP/1.1 405", "Allow: GET, HEAD");
    free((void *)out);
    stop(&s);
    remove_root();
}
END_TEST

/* 2,000 idle keep-alive connections, then a request on every one at once. */
START_TEST(test_many_idle_connections)
{
    enum { N = 2000 };
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max < 3 * N ? rl.rlim_max : 3 * N;
    ck_assert_msg(setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 2 * N + 100,
                  "need %d fds, the hard limit is %ld", 2 * N + 100, (long)rl.rlim_max);
    make_root();
    struct test_server s;
    start(&s, "1");
    static int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = test_dial(s.port);
    const char req[] = "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < N; i++)
        test_send_all(fds[i], req, sizeof req - 1);
    for (int i = 0; i < N; i++) {
        char *r = test_recv_http_response(fds[i], 20);
        ck_assert_msg(strstr(r, "\r\n\r\nalpha\n"), "connection %d: %.200s", i, r);
        free(r);
    }
    for (int i = 0; i < N; i++)
        close(fds[i]);
    stop(&s);
    remove_root();
}
END_TEST

/* 300 clients dripping an endless head do not keep a normal client waiting,
 * and a flood of malformed requests does not hurt the server. */
START_TEST(test_slowloris_and_garbage)
{
    make_root();
    struct test_server s;
    start(&s, "1");
    enum { N = 300 };
    static int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = test_dial(s.port);
        test_send_all(fds[i], "GET / HTTP/1.1\r\nHost: t\r\nX-a: ", 29);
    }
    double t0 = test_now();
    const char *out = get(s.port, "/a.txt");
    ck_assert_str_eq(status_of(out), "200");
    ck_assert_double_lt(test_now() - t0, 1.0);
    for (int i = 0; i < N; i++)
        close(fds[i]);
#define G(lit)                                                                                     \
    {                                                                                              \
        lit, sizeof(lit) - 1                                                                       \
    }
    static const struct {
        const char *data;
        size_t len;
    } garbage[] = {
        /* a TLS ClientHello on the plain port: refused at its first byte */
        G("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"),
        G("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
        G("GET /\x01 HTTP/1.1\r\nHost: t\r\n\r\n"),
        G("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n"),
        G("GET / HTTP/1.1\r\n\r\n"),
    };
#undef G
    for (int round = 0; round < 40; round++) {
        char *r = test_http_exchange(s.port, garbage[round % 5].data, garbage[round % 5].len);
        ck_assert_msg(!strncmp(r, "HTTP/1.1 4", 10) || !strncmp(r, "HTTP/1.1 5", 10),
                      "garbage %d: %.200s", round % 5, r);
        free(r);
    }
    out = get(s.port, "/a.txt");
    ck_assert_str_eq(status_of(out), "200");
    stop(&s);
    remove_root();
}
END_TEST

/* A client asks for 64 MiB and never reads: the server holds at most its
 * socket buffers and its write watermark, and goes on serving others. */
START_TEST(test_never_reading_client)
{
    make_root();
    struct test_server s;
#if defined(__SANITIZE_ADDRESS__)
    /* ASan parks every freed block in a quarantine (256 MB by default), so the
     * RSS of a server answering requests grows with their number; without it
     * freed memory is reused and RSS shows what the server holds. */
    char opts[512];
    const char *cur = getenv("ASAN_OPTIONS");
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=0", cur ? cur : "", cur && *cur ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1); /* this test's process only (Check forks each test) */
#endif
    start(&s, "1");
    long before = test_rss_kib(s.pid);
    int stuck[4];
    for (int i = 0; i < 4; i++) {
        stuck[i] = test_dial(s.port);
        int small = 4096;
        setsockopt(stuck[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        test_send_all(stuck[i], "GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n", 34);
    }
    double t0 = test_now();
    while (test_now() - t0 < 0.5) {
        const char *out = get(s.port, "/a.txt");
        ck_assert_str_eq(status_of(out), "200");
    }
    long after = test_rss_kib(s.pid);
    ck_assert_msg(after - before < 8 * 1024, "server RSS grew %ld KiB with 4 stuck clients",
                  after - before);
    for (int i = 0; i < 4; i++)
        close(stuck[i]);
    stop(&s);
    remove_root();
}
END_TEST

START_TEST(test_workers_and_clients)
{
    make_root();
    struct test_server s;
    start(&s, "2");
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big.bin", s.port);
    char *out;
    double el;
    int rc = test_run((char *[]){"/usr/bin/env", "curl", "-sS", "-r", "100-199", "-o", "/dev/null",
                                 "-w", "%{http_code} %{size_download}\n", url, NULL},
                      NULL, 10, &out, &el);
    ck_assert_msg(rc == 0, "curl failed (%d): %s", rc, out);
    ck_assert_contains(out, "206 100");
    free(out);
    char script[512];
    snprintf(script, sizeof script,
             "import http.client\n"
             "c = http.client.HTTPConnection('127.0.0.1', %d, timeout=5)\n"
             "for p in ['/a.txt', '/sub/', '/nope', '/a.txt']:\n"
             "    c.request('GET', p); r = c.getresponse(); r.read(); print(r.status)\n",
             s.port);
    rc = test_run((char *[]){"/usr/bin/env", "python3", "-c", script, NULL}, NULL, 10, &out, &el);
    ck_assert_msg(rc == 0, "python3 failed (%d): %s", rc, out);
    TEST_IN_ORDER(out, "200\n", "200\n", "404\n", "200\n");
    free(out);
    stop(&s);
    remove_root();
}
END_TEST

START_TEST(test_options)
{
    char bin[256];
    test_build_path("bin/loom-http", bin, sizeof bin);
    static const struct {
        const char *args[4], *want;
    } cases[] = {
        {{"--port", "99999", "--root", "/tmp"}, "--port: '99999' is out of range"},
        {{"--port", "abc", "--root", "/tmp"}, "--port"},
        {{"--workers", "0", "--root", "/tmp"}, "--workers"},
        {{"--root", "/nonexistent-loom", NULL, NULL}, "--root: cannot open"},
        {{"--bogus", NULL, NULL, NULL}, "--bogus"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[6] = {bin};
        for (int k = 0; k < 4 && cases[i].args[k]; k++)
            argv[k + 1] = (char *)cases[i].args[k];
        char *out;
        double el;
        int rc = test_run(argv, NULL, 10, &out, &el);
        ck_assert_msg(rc == 2, "case %zu: status %d: %s", i, rc, out);
        ck_assert_contains(out, cases[i].want);
        free(out);
    }
}
END_TEST

/* --max-connections 2 with two idle keep-alive clients: a third is served at
 * once (not after the 15 s keep-alive timeout), the oldest idle connection
 * closed cleanly (EOF after its answer, no reset: a client retries). */
START_TEST(test_idle_at_connection_limit)
{
    make_root();
    char bin[256];
    test_build_path("bin/loom-http", bin, sizeof bin);
    char *argv[] = {bin, "--root", root, "--port", "0", "--max-connections", "2", NULL};
    struct test_server s;
    test_server_start(&s, argv);
    const char req[] = "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n";
    int idle[2];
    for (int i = 0; i < 2; i++) {
        idle[i] = test_dial(s.port);
        test_send_all(idle[i], req, sizeof req - 1);
        free(test_recv_http_response(idle[i], 5));
    }
    double t0 = test_now();
    const char *out = get(s.port, "/a.txt");
    ck_assert_msg(!strcmp(status_of(out), "200"), "third client: %.300s", out);
    ck_assert_double_lt(test_now() - t0, 5.0);
    struct pollfd p = {idle[0], POLLIN, 0};
    ck_assert_int_eq(poll(&p, 1, 5000), 1);
    char buf[64];
    ssize_t n = recv(idle[0], buf, sizeof buf, MSG_DONTWAIT);
    ck_assert_msg(n == 0, "oldest idle client: %zd (%s), not a clean EOF", n,
                  n < 0 ? strerror(errno) : "data");
    close(idle[0]);
    close(idle[1]);
    stop(&s);
    remove_root();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("app_http");
    struct {
        const char *name;
        const TTest *fn;
        double timeout;
    } cases[] = {
        {"paths", test_paths, 30},
        {"many_idle_connections", test_many_idle_connections, 90},
        {"slowloris_and_garbage", test_slowloris_and_garbage, 60},
        {"never_reading_client", test_never_reading_client, 30},
        {"workers_and_clients", test_workers_and_clients, 30},
        {"options", test_options, 30},
        {"idle_at_connection_limit", test_idle_at_connection_limit, 30},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, cases[i].timeout);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
