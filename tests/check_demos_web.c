/* check_demos_web.c - smoke tests for the HTTP listings: chapter 4 and the
 * listings of chapters 1, 2, 7, 8, 11 and 12 that fetch web pages.
 *
 * Each test runs one built demo (its own local site: loom's HTTP server, over
 * TLS with a CA made at run time) at a small time scale and checks the printed
 * lines, their order and the timing relations the listing is about. Timings
 * are structural (a concurrent total well below the sequential sum, a timeout
 * well before the work it cut short), never ratios: the machine may be busy.
 * Runs once, not per backend (tests/run-suites). */
#include "harness/harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Run demos/<rel> --scale scale args... (NULL-terminated); assert exit 0. */
static char *run_demo(const char *rel, const char *scale, ...)
{
    char path[512];
    char *argv[16] = {(char *)test_build_path(rel, path, sizeof path), "--scale", (char *)scale};
    int n = 3;
    va_list ap;
    va_start(ap, scale);
    for (char *a; n < 15 && (a = va_arg(ap, char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char *out = NULL;
    int rc = test_run(argv, NULL, 60, &out, NULL);
    ck_assert_msg(rc == 0, "%s exited with %d, output:\n%s", rel, rc, out);
    return out;
}

/* The number printed right after the k-th (0-based) occurrence of prefix. */
static double number_after(const char *out, const char *prefix, int k)
{
    const char *p = strstr(out, prefix);
    for (int i = k; p && i > 0; i--)
        p = strstr(p + 1, prefix);
    ck_assert_msg(p != NULL, "no \"%s\" #%d in output:\n%s", prefix, k, out);
    return strtod(p + strlen(prefix), NULL);
}

/* How many whole lines of out are exactly line. */
static int count_lines(const char *out, const char *line)
{
    int n = 0;
    size_t len = strlen(line);
    for (const char *p = out; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
        n += strncmp(p, line, len) == 0 && p[len] == '\n';
    return n;
}

#define ASSERT_SECS(x, lo, hi)                                                                     \
    ck_assert_msg((x) >= (lo)-0.005 && (x) < (hi), "%s = %.4f s, expected [%.3f, %.3f)", #x,       \
                  (double)(x), (double)(lo), (double)(hi))

/* --- chapter 4 --- */

START_TEST(test_4_1)
{
    char *out = run_demo("demos/ch04/listing_4_1", "0.1", "--port", "0", NULL);
    TEST_IN_ORDER(out, "Entering context manager, waiting for connection\n",
                  "Accepted a connection\n", "Received: Hello, scope!\n",
                  "Exiting context manager\n", "Closed connection\n");
    free(out);
}
END_TEST

START_TEST(test_4_2)
{
    char *out = run_demo("demos/ch04/listing_4_2", "0.1", NULL);
    TEST_IN_ORDER(out, "Calling main", "Calling fetch_status", "fetch_status completed in ",
                  "Status of https://127.0.0.1:", "/repos/ is 200\n", "main completed in ");
    free(out);
}
END_TEST

START_TEST(test_4_3)
{
    /* the site answers after 0.5 s * scale 0.4 = 0.2 s; the request's own total is 10 ms */
    char *out = run_demo("demos/ch04/listing_4_3", "0.4", NULL);
    double ok = number_after(out, "With the session's timeout (total 1 s): 200 after ", 0);
    double t = number_after(out, "With total=0.01 s for this request: TimeoutError after ", 0);
    ASSERT_SECS(ok, 0.2, 1.0);
    ASSERT_SECS(t, 0.01, 0.15); /* fired: well before the 0.2 s answer */
    free(out);
}
END_TEST

START_TEST(test_4_4_4_5)
{
    const char *s = "Starting sleep for ", *e = "End sleeping for ";
    char *out = run_demo("demos/ch04/listing_4_4", "0.1", NULL);
    TEST_IN_ORDER(out, "Calling main", s, e, s, e, s, e, "main completed in ");
    TEST_IN_ORDER(out, "for 3 sec", "for 3 sec", "for 2 sec", "for 2 sec", "for 1 sec", "for 1");
    double seq = number_after(out, "main completed in ", 0);
    ASSERT_SECS(seq, 0.6, 2.0);
    free(out);
    out = run_demo("demos/ch04/listing_4_5", "0.1", NULL);
    TEST_IN_ORDER(out, "Calling main", s, s, s, "End sleeping for 1 sec.",
                  "End sleeping for 2 sec.", "End sleeping for 3 sec.", "main completed in ");
    double con = number_after(out, "main completed in ", 0);
    ASSERT_SECS(con, 0.3, 0.55); /* the longest, not the 0.6 s sum */
    free(out);
}
END_TEST

START_TEST(test_4_6)
{
    char *out = run_demo("demos/ch04/listing_4_6", "0.1", NULL);
    /* request i asked for 200 + i % 3: the list is in request order */
    char *want = malloc(300 * 5 + 4), *p = want;
    p += sprintf(p, "[");
    for (int i = 0; i < 300; i++)
        p += sprintf(p, "%s%d", i ? ", " : "", 200 + i % 3);
    sprintf(p, "]\n");
    ck_assert_contains(out, want);
    int most = (int)number_after(out, "Most connections open at once at the site: ", 0);
    ck_assert_int_ge(most, 2);   /* concurrent */
    ck_assert_int_le(most, 100); /* the pool's limit */
    free(want);
    free(out);
}
END_TEST

START_TEST(test_4_6a)
{
    char *out = run_demo("demos/ch04/listing_4_6a", "0.1", NULL);
    TEST_IN_ORDER(out, "All results: [200, EPROTONOSUPPORT('unsupported URL scheme",
                  "Finished successfully: [200]\n", "Threw exceptions: [EPROTONOSUPPORT(",
                  "Requests that reached the site: 1\n");
    free(out);
}
END_TEST

START_TEST(test_4_8)
{
    char *out = run_demo("demos/ch04/listing_4_8", "0.1", NULL);
    TEST_IN_ORDER(out, "Calling main", "200 (delay 1 s) after ", "200 (delay 3 s) after ",
                  "200 (delay 7 s) after ", "main completed in ");
    double t1 = number_after(out, "200 (delay 1 s) after ", 0);
    double t7 = number_after(out, "200 (delay 7 s) after ", 0);
    ASSERT_SECS(t1, 0.1, t7);
    ASSERT_SECS(t7, 0.7, 5.0);
    free(out);
}
END_TEST

START_TEST(test_4_9)
{
    /* scale 0.5: the first answer at ~0.5 s (+ a TLS handshake), the timeout at 1.5 s, the
     * others due at 5 s */
    char *out = run_demo("demos/ch04/listing_4_9", "0.5", NULL);
    TEST_IN_ORDER(out, "Calling main", "200 after ", "Timeout! after ", "Timeout! after ",
                  "main completed in ");
    ck_assert_int_eq(test_count(out, "Timeout!"), 2);
    ASSERT_SECS(number_after(out, "Timeout! after ", 0), 1.5, 4.5);
    /* not cancelled: both still pending when the tasks are listed */
    ck_assert_contains(out, "<Task pending name='fetch_status(10)-a' cancelled=False>");
    ck_assert_contains(out, "<Task pending name='fetch_status(10)-b' cancelled=False>");
    ck_assert_int_eq(test_count(out, "fetch_status(1)'"), 0); /* finished: not listed */
    free(out);
}
END_TEST

START_TEST(test_4_10)
{
    char *out = run_demo("demos/ch04/listing_4_10", "0.1", NULL);
    TEST_IN_ORDER(out, "Done task count: 2\n", "Pending task count: 0\n", "200\n", "200\n");
    free(out);
}
END_TEST

START_TEST(test_4_11)
{
    char *out = run_demo("demos/ch04/listing_4_11", "0.1", NULL);
    TEST_IN_ORDER(out, "Done task count: 2\n", "Pending task count: 0\n");
    ck_assert_int_eq(test_count(out, "\n200\n"), 1);
    ck_assert_int_eq(test_count(out, "ERROR: Request got an exception: EPROTONOSUPPORT"), 1);
    free(out);
}
END_TEST

START_TEST(test_4_12)
{
    char *out = run_demo("demos/ch04/listing_4_12", "0.3", NULL);
    TEST_IN_ORDER(out, "Calling main", "Done task count: 1\n", "Pending task count: 2\n",
                  "ERROR: Request got an exception: EPROTONOSUPPORT",
                  "Pending task cancelled: True\n", "Pending task cancelled: True\n",
                  "Requests that reached the site: 0\n", "main completed in ");
    ASSERT_SECS(number_after(out, "main completed in ", 0), 0, 0.45); /* the delays: 0.9 s */
    free(out);
}
END_TEST

START_TEST(test_4_13)
{
    char *out = run_demo("demos/ch04/listing_4_13", "1", NULL); /* 1 s between first and rest */
    TEST_IN_ORDER(out, "Done task count: 1\n", "Pending task count: 3\n", "200\n");
    free(out);
}
END_TEST

START_TEST(test_4_14)
{
    char *out = run_demo("demos/ch04/listing_4_14", "1", NULL);
    int rounds = test_count(out, "Done task count: ");
    ck_assert_int_ge(rounds, 2); /* requests 0.5 s apart finish in more than one round */
    int done = 0;
    for (int i = 0; i < rounds; i++)
        done += (int)number_after(out, "Done task count: ", i);
    ck_assert_int_eq(done, 4);
    ck_assert_int_eq(test_count(out, "200\n"), 4);
    ck_assert_int_eq((int)number_after(out, "Pending task count: ", rounds - 1), 0);
    free(out);
}
END_TEST

START_TEST(test_4_15)
{
    char *out = run_demo("demos/ch04/listing_4_15", "1", NULL); /* a handshake is < 1 s */
    TEST_IN_ORDER(out, "Calling main", "Done task count: 2\n", "Pending task count: 1\n", "200\n",
                  "200\n", "wait() returned after ", "Pending task cancelled: False\n",
                  "Awaited pending task: 200 after ", "main completed in ");
    double w = number_after(out, "wait() returned after ", 0);
    double late = number_after(out, "Awaited pending task: 200 after ", 0);
    ASSERT_SECS(w, 1.0, 2.5);    /* the 1 s timeout */
    ASSERT_SECS(late, 3.0, 6.0); /* the 3 s request went on */
    free(out);
}
END_TEST

START_TEST(test_q_10)
{
    char *out = run_demo("demos/ch04/test_q_10", "0.1", NULL);
    ck_assert_int_eq(test_count(out, "gather returned"), 0);
    ASSERT_SECS(number_after(out, "the outer timeout ended it: TimeoutError after ", 0), 0.7, 2.0);
    free(out);
}
END_TEST

/* --- the blocking GETs of chapters 1 and 2 --- */

START_TEST(test_1_7)
{
    /* scale 0.4: the site answers after 0.2 s; two GETs in turn take at least 0.4 s */
    char *out = run_demo("demos/ch01/listing_1_7", "0.4", NULL);
    TEST_IN_ORDER(out, "200\n", "200\n", "Execution of read_example took ",
                  "The site answered at most 1 request(s) at once.\n");
    ASSERT_SECS(number_after(out, "Execution of read_example took ", 0), 0.4, 5.0);
    free(out);
}
END_TEST

START_TEST(test_1_7a)
{
    /* 0.5 s a request; each also spends CPU on its TLS handshake, so compare the total
     * with the sum of the requests' own times rather than with the latency */
    char *out = run_demo("demos/ch01/listing_1_7a", "1", NULL);
    char want[64];
    for (int i = 1; i <= 10; i++) {
        snprintf(want, sizeof want, "Thread-%d, status code: 200\n", i);
        ck_assert_contains(out, want);
    }
    double total = number_after(out, "threaded requests took ", 0);
    double sum = number_after(out, "The requests' own times add up to ", 0);
    ASSERT_SECS(total, 0.5, 0.7 * sum);
    ck_assert_int_ge((int)number_after(out, "The site answered at most ", 0), 2); /* overlapped */
    free(out);
}
END_TEST

START_TEST(test_2_20)
{
    char *out = run_demo("demos/ch02/listing_2_20", "0.4", NULL);
    const char *c = "Calling get_example_status", *d = "get_example_status completed in ";
    TEST_IN_ORDER(out, "Calling main", c, d, "status: 200", c, d, "status: 200", c, d,
                  "status: 200", "main completed in ",
                  "The site answered at most 1 request(s) at once.\n");
    ASSERT_SECS(number_after(out, "main completed in ", 0), 0.6, 6.0); /* 3 x 0.2 s in turn */
    free(out);
}
END_TEST

/* --- chapter 7: blocking GETs on threads --- */

START_TEST(test_7_3)
{
    char *out = run_demo("demos/ch07/listing_7_3", "0.2", NULL);
    TEST_IN_ORDER(out, "200\n", "200\n", "Two blocking requests took ");
    ASSERT_SECS(number_after(out, "Two blocking requests took ", 0), 0.2, 5.0); /* 2 x 0.1 s */
    free(out);
}
END_TEST

START_TEST(test_7_4)
{
    char *out = run_demo("demos/ch07/listing_7_4", "0.1", "--requests", "40", NULL);
    ck_assert_int_eq(count_lines(out, "200"), 80);
    TEST_IN_ORDER(out, "finished requests one by one in ",
                  "The site answered at most 1 request(s) at once so far.\n",
                  "Active threads while the pool works: ", "finished requests with a pool of ",
                  "The site answered at most ");
    ck_assert_int_ge((int)number_after(out, "Active threads while the pool works: ", 0), 6);
    int most = (int)number_after(out, "The site answered at most ", 1);
    ck_assert_msg(most >= 2, "the pool's requests did not overlap:\n%s", out);
    free(out);
}
END_TEST

/* The first line is the list of n statuses "[200, 200, ..., 200]", then "main completed". */
static void check_status_list(const char *out, int n)
{
    const char *end = strchr(out, '\n');
    ck_assert_msg(out[0] == '[' && end && end[-1] == ']', "no status list:\n%s", out);
    int k = 0;
    for (const char *p = out + 1; p < end; p += 5, k++)
        ck_assert_msg(strncmp(p, "200", 3) == 0 && (p[3] == ',' || p[3] == ']'),
                      "status #%d is not 200:\n%s", k, out);
    ck_assert_int_eq(k, n);
    ck_assert_msg(strncmp(end + 1, "main completed in ", 18) == 0, "%s", out);
}

START_TEST(test_7_5_7_7)
{
    static const char *const demos[] = {"demos/ch07/listing_7_5", "demos/ch07/listing_7_6",
                                        "demos/ch07/listing_7_7"};
    char *out = run_demo(demos[_i], "0.1", NULL);
    check_status_list(out, 100);
    ck_assert_int_ge((int)number_after(out, "The site answered at most ", 0), 2); /* overlap */
    free(out);
}
END_TEST

START_TEST(test_7_8)
{
    char *out = run_demo("demos/ch07/listing_7_8", "0.1", "--requests", "120", NULL);
    int reports = test_count(out, "Requests completed: ");
    ck_assert_int_ge(reports, 2);
    long last = -1;
    for (int i = 0; i < reports; i++) { /* "X of 120", X never decreasing */
        long x = (long)number_after(out, "Requests completed: ", i);
        ck_assert_msg(x >= last && x <= 120, "progress went %ld -> %ld:\n%s", last, x, out);
        last = x;
    }
    ck_assert_contains(out, "Requests completed: 120 of 120\nmain completed in");
    free(out);
}
END_TEST

/* --- chapter 8: a protocol and a stream talking HTTP to the site --- */

START_TEST(test_8_1)
{
    char *out = run_demo("demos/ch08/listing_8_1", "1", NULL);
    TEST_IN_ORDER(out, "Connection made to 127.0.0.1\n", "Data received!\n",
                  "Connection closed without error.\n", "status line: HTTP/1.1 200 OK\n");
    free(out);
}
END_TEST

START_TEST(test_8_2)
{
    char *out = run_demo("demos/ch08/listing_8_2", "1", NULL);
    TEST_IN_ORDER(out, "Got connection to 127.0.0.1:", "Connection made to 127.0.0.1",
                  "Data received!", "HTTP/1.1 200 OK\r\n", "Connection: close\r\n",
                  "\r\n\r\n<!DOCTYPE html>\n", "loom demo site: /</p></body></html>\n");
    free(out);
}
END_TEST

START_TEST(test_8_3)
{
    char *out = run_demo("demos/ch08/listing_8_3", "1", NULL);
    TEST_IN_ORDER(out, "['HTTP/1.1 200 OK\\r\\n', ", "'Connection: close\\r\\n', ", "'\\r\\n', ",
                  "'<!DOCTYPE html>\\n', ", "</html>\\n']\n");
    free(out);
}
END_TEST

/* --- chapters 11 and 12 --- */

START_TEST(test_11_7)
{
    char *out = run_demo("demos/ch11/listing_11_7", "0.1", "--requests", "300", NULL);
    int ok = 0, most = 0;
    const char *p = strstr(out, " requests got 200; ");
    ck_assert_msg(p, "%s", out);
    while (p > out && p[-1] != '\n')
        p--;
    ck_assert_int_eq(sscanf(p, "%d of 300 requests got 200; the site saw at most %d", &ok, &most),
                     2);
    ck_assert_int_eq(ok, 300);
    ck_assert_int_le(most, 10); /* the semaphore's cap, counted by the server */
    ck_assert_int_ge(most, 2);
    ck_assert_int_eq(count_lines(out, "Waiting to acquire semaphore..."), 300);
    ck_assert_int_eq(count_lines(out, "Acquired semaphore, requesting..."), 300);
    ck_assert_int_eq(count_lines(out, "Finished requesting"), 300);
    free(out);
}
END_TEST

/* A blocking connection to 127.0.0.1:port with a 10 s receive timeout. */
static int connect_local(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_msg(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect");
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Send req on fd, half-close, read the whole answer into resp, close. */
static void finish_exchange(int fd, const char *req, char *resp, size_t cap)
{
    if (req)
        ck_assert(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
    shutdown(fd, SHUT_WR);
    size_t len = 0;
    for (ssize_t n; len < cap - 1 && (n = read(fd, resp + len, cap - 1 - len)) > 0;)
        len += (size_t)n;
    resp[len] = '\0';
    close(fd);
}

START_TEST(test_12_3)
{
    static struct test_server s;
    char path[512];
    char *argv[] = {(char *)test_build_path("demos/ch12/listing_12_3", path, sizeof path),
                    "--scale",
                    "0.1",
                    "--port",
                    "0",
                    "--orders",
                    "20",
                    NULL};
    test_server_start(&s, argv);
    char resp[512];
    finish_exchange(connect_local(s.port), "GET /order HTTP/1.1\r\nHost: x\r\n\r\n", resp,
                    sizeof resp);
    ck_assert_contains(resp, "HTTP/1.1 405");
    finish_exchange(connect_local(s.port), "POST / HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof resp);
    ck_assert_contains(resp, "HTTP/1.1 404");
    /* 20 orders at once: 5 workers + Queue(10) hold 15, the other handlers wait for room */
    static const char post[] = "POST /order HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    int fds[20];
    for (int i = 0; i < 20; i++) {
        fds[i] = connect_local(s.port);
        ck_assert(write(fds[i], post, sizeof post - 1) == (ssize_t)(sizeof post - 1));
    }
    for (int i = 0; i < 20; i++) {
        finish_exchange(fds[i], NULL, resp, sizeof resp);
        ck_assert_contains(resp, "HTTP/1.1 200 OK");
        ck_assert_contains(resp, "Order placed!");
    }
    ck_assert_int_eq(test_server_wait(&s, 20), 0);
    TEST_IN_ORDER(s.buf, "Creating order queue and tasks.", "Waiting for pending queue workers",
                  "Finished all pending items, canceling worker tasks...");
    ck_assert_int_eq(test_count(s.buf, "Processing order"), 20);
    ck_assert_int_eq(test_count(s.buf, "Processed order"), 20);
    ck_assert_int_eq(test_count(s.buf, "(timed out)"), 0);
}
END_TEST

START_TEST(test_12_4)
{
    /* The book's timings (about 1 s): the 3 s request timeout scales too, and at 0.1
     * (0.3 s for a TLS connect and a fetch) a loaded machine's requests timed out. */
    char *out = run_demo("demos/ch12/listing_12_4", "1", NULL);
    /* 1 + 4 + 16 + 64 fetches: every page's four same-site links (an absolute path, a
     * "../" path, an absolute URL, the root) found and resolved; the off-site one skipped */
    ck_assert_contains(out, "Fetched 85 pages (40 distinct); skipped 21 off-site links\n");
    ck_assert_int_eq(test_count(out, "\nMax depth reached, for https://127.0.0.1:"), 64);
    ck_assert_int_eq(test_count(out, ": Finished https://127.0.0.1:"), 85);
    ck_assert_int_eq(test_count(out, ": Processing https://127.0.0.1:"), 85);
    /* page 12's third child, at depth 3: Processing, Max depth reached, Finished */
    ck_assert_int_eq(test_count(out, "/p/39\n"), 3);
    ck_assert_int_eq(test_count(out, "example.invalid"), 0);
    ck_assert_int_eq(test_count(out, "Error processing"), 0);
    free(out);
}
END_TEST

/* --- every demo answers --help with its usage and exit 0 --- */

static const char *const all_demos[] = {
    "ch04/listing_4_1",  "ch04/listing_4_2",  "ch04/listing_4_3",  "ch04/listing_4_4",
    "ch04/listing_4_5",  "ch04/listing_4_6",  "ch04/listing_4_6a", "ch04/listing_4_8",
    "ch04/listing_4_9",  "ch04/listing_4_10", "ch04/listing_4_11", "ch04/listing_4_12",
    "ch04/listing_4_13", "ch04/listing_4_14", "ch04/listing_4_15", "ch04/test_q_10",
    "ch01/listing_1_7",  "ch01/listing_1_7a", "ch02/listing_2_20", "ch07/listing_7_3",
    "ch07/listing_7_4",  "ch07/listing_7_5",  "ch07/listing_7_6",  "ch07/listing_7_7",
    "ch07/listing_7_8",  "ch08/listing_8_1",  "ch08/listing_8_2",  "ch08/listing_8_3",
    "ch11/listing_11_7", "ch12/listing_12_3", "ch12/listing_12_4",
};
enum { NDEMOS = sizeof all_demos / sizeof all_demos[0] };

START_TEST(test_help)
{
    char rel[64], want[64];
    snprintf(rel, sizeof rel, "demos/%s", all_demos[_i]);
    char *out = run_demo(rel, "1", "--help", NULL);
    snprintf(want, sizeof want, "usage: %s", strrchr(all_demos[_i], '/') + 1);
    ck_assert_contains(out, want);
    ck_assert_contains(out, "--scale F");
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("demos_web");
    TCase *ch4 = test_tcase(s, "chapter4", 60);
    tcase_add_test(ch4, test_4_1);
    tcase_add_test(ch4, test_4_2);
    tcase_add_test(ch4, test_4_3);
    tcase_add_test(ch4, test_4_4_4_5);
    tcase_add_test(ch4, test_4_6);
    tcase_add_test(ch4, test_4_6a);
    tcase_add_test(ch4, test_4_8);
    tcase_add_test(ch4, test_4_9);
    tcase_add_test(ch4, test_4_10);
    tcase_add_test(ch4, test_4_11);
    tcase_add_test(ch4, test_4_12);
    tcase_add_test(ch4, test_4_13);
    tcase_add_test(ch4, test_4_14);
    tcase_add_test(ch4, test_4_15);
    tcase_add_test(ch4, test_q_10);
    TCase *blocking = test_tcase(s, "blocking", 60);
    tcase_add_test(blocking, test_1_7);
    tcase_add_test(blocking, test_1_7a);
    tcase_add_test(blocking, test_2_20);
    TCase *threads = test_tcase(s, "threads", 60);
    tcase_add_test(threads, test_7_3);
    tcase_add_test(threads, test_7_4);
    tcase_add_loop_test(threads, test_7_5_7_7, 0, 3);
    tcase_add_test(threads, test_7_8);
    TCase *ch8 = test_tcase(s, "streams", 30);
    tcase_add_test(ch8, test_8_1);
    tcase_add_test(ch8, test_8_2);
    tcase_add_test(ch8, test_8_3);
    TCase *queues = test_tcase(s, "sync", 60);
    tcase_add_test(queues, test_11_7);
    tcase_add_test(queues, test_12_3);
    tcase_add_test(queues, test_12_4);
    TCase *help = test_tcase(s, "help", 30);
    tcase_add_loop_test(help, test_help, 0, NDEMOS);
    return test_main(s);
}
