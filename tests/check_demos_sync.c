/* check_demos_sync.c - smoke tests for the demos of chapters 11 and 12.
 *
 * Each test runs one built demo at a small time scale (--scale 0.1) and checks
 * the printed lines, their order and the timing relations the listing is
 * about, with tolerances. The servers (11.12, 12.3) listen on 127.0.0.1 port 0
 * and announce "listening on ADDR:PORT" on stderr; the test talks to them with
 * blocking sockets and a bounded wait. Runs once, not per backend. */
#include "harness/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCALE "0.1"

/* Run demos/<rel> --scale SCALE args...; assert the exit status. */
static char *run_demo(const char *rel, int want_status, double *elapsed, ...)
{
    static const char *const pre[] = {"--scale", SCALE, NULL};
    va_list ap;
    va_start(ap, elapsed);
    char *out = test_run_demov(rel, &(struct test_demo){.want_status = want_status, .pre = pre},
                               elapsed, ap);
    va_end(ap);
    return out;
}

#define ASSERT_BETWEEN(x, lo, hi) ck_assert_msg((x) >= (lo) && (x) <= (hi), "%s = %.3f", #x, (x))

/* --- chapter 11 --- */

START_TEST(test_11_1_no_race)
{
    char *out = run_demo("demos/ch11/listing_11_1", 0, NULL, "--rounds", "20", NULL);
    ck_assert_int_eq(test_count(out, "Counter is 100\n"), 20);
    ck_assert_int_eq(test_count(out, "Counter is"), 20);
    free(out);
}
END_TEST

START_TEST(test_11_2_race)
{
    char *out = run_demo("demos/ch11/listing_11_2", 1, NULL, "--rounds", "20", NULL);
    ck_assert_contains(out, "Counter is 1\n");
    ck_assert_contains(out, "AssertionError");
    ck_assert_int_eq(test_count(out, "Counter is"), 1);
    free(out);
}
END_TEST

START_TEST(test_11_3_race_escapes_gather)
{
    char *out = run_demo("demos/ch11/listing_11_3", 1, NULL, NULL);
    TEST_IN_ORDER(out, "Creating message tasks", "Eric disconnected!", "Sending: Hello John",
                  "Sending: Hello Terry", "Sending: Hello Graham", "Exception: Socket is closed!");
    ck_assert_int_eq(test_count(out, "Sent:"), 0);
    ck_assert_int_eq(test_count(out, "Sending: Hello Eric"), 0);
    free(out);
}
END_TEST

START_TEST(test_11_4_lock)
{
    double dt;
    char *out = run_demo("demos/ch11/listing_11_4", 0, &dt, NULL);
    TEST_IN_ORDER(out, "Coroutine b waiting", "Coroutine b is in the critical section",
                  "Coroutine a waiting", "Coroutine b released the lock",
                  "Coroutine a is in the critical section", "Coroutine a released the lock");
    ASSERT_BETWEEN(dt, 0.38, 2.0);
    free(out);
}
END_TEST

START_TEST(test_11_5_lock_guards_map)
{
    char *out = run_demo("demos/ch11/listing_11_5", 0, NULL, NULL);
    const char *after = TEST_IN_ORDER(out, "Creating message tasks", "Eric disconnected!");
    TEST_IN_ORDER(after, "Sent: Hello John", "Sent: Hello Terry", "Sent: Hello Graham",
                  "Sent: Hello Eric", "Removing Eric from map");
    ck_assert_int_eq(test_count(out, "Socket is closed"), 0);
    free(out);
}
END_TEST

START_TEST(test_11_6_semaphore)
{
    double dt;
    char *out = run_demo("demos/ch11/listing_11_6", 0, &dt, NULL);
    ck_assert_int_eq(test_count(out, "Semaphore acquired!"), 4);
    /* Two get in, the other two only after releases. */
    const char *p = TEST_IN_ORDER(out, "Semaphore acquired!", "Semaphore acquired!");
    TEST_IN_ORDER(p, "Releasing semaphore", "Semaphore acquired!");
    ck_assert(strstr(p, "Semaphore acquired!") > strstr(p, "Releasing semaphore"));
    ASSERT_BETWEEN(dt, 0.38, 2.0);
    free(out);
}
END_TEST

START_TEST(test_11_8_over_release)
{
    char *out = run_demo("demos/ch11/listing_11_8", 0, NULL, NULL);
    ck_assert_contains(out, "Semaphore value is now 5");
    const char *round2 = TEST_IN_ORDER(out, "Acquiring three times...");
    const char *third = TEST_IN_ORDER(round2, "Acquired", "Acquired", "Acquired");
    ck_assert(strstr(round2, "Releasing") > third - strlen("Acquired"));
    free(out);
}
END_TEST

START_TEST(test_11_9_bounded_semaphore)
{
    char *out = run_demo("demos/ch11/listing_11_9", 1, NULL, NULL);
    TEST_IN_ORDER(out, "Acquired", "Released once",
                  "ValueError: BoundedSemaphore released too many times");
    free(out);
}
END_TEST

START_TEST(test_11_10_event)
{
    double dt;
    char *out = run_demo("demos/ch11/listing_11_10", 0, &dt, NULL);
    ck_assert_int_eq(test_count(out, "Waiting for event..."), 2);
    ck_assert_int_eq(test_count(out, "Working!"), 2);
    const char *p = strstr(out, "] Working!");
    while (p > out && p[-1] != '[')
        p--;
    double at = atof(p);
    ASSERT_BETWEEN(at, 0.48, 0.8);
    ASSERT_BETWEEN(dt, 0.78, 2.5);
    free(out);
}
END_TEST

START_TEST(test_11_11_file_upload)
{
    double dt;
    char *out = run_demo("demos/ch11/listing_11_11", 0, &dt, NULL);
    TEST_IN_ORDER(out, "Writing 12 bytes", "Writing 13 bytes", "Writing 11 bytes",
                  "Upload finished after", "36 bytes:\nfirst chunk\nsecond chunk\nlast chunk\n");
    ASSERT_BETWEEN(dt, 0.14, 2.0);
    free(out);
}
END_TEST

START_TEST(test_11_13_events_coalesce)
{
    double dt;
    char *out = run_demo("demos/ch11/listing_11_13", 0, &dt, NULL);
    ck_assert_int_eq(test_count(out, "Triggering event!"), 5);
    int triggers = 0, jobs = 0;
    const char *p = strstr(out, "TimeoutError after");
    ck_assert_msg(p, "%s", out);
    ck_assert_int_eq(
        sscanf(p, "TimeoutError after %*f s: %d triggers, work started %d times", &triggers, &jobs),
        2);
    ck_assert_int_eq(triggers, 5);
    ck_assert_msg(jobs >= 2 && jobs < 5, "work started %d times: sets should coalesce", jobs);
    ASSERT_BETWEEN(dt, 0.48, 2.0);
    free(out);
}
END_TEST

START_TEST(test_11_14_condition)
{
    char *out = run_demo("demos/ch11/listing_11_14", 0, NULL, "--notifies", "2", NULL);
    ck_assert_int_eq(test_count(out, "Lock acquired, notifying all workers."), 2);
    ck_assert_int_eq(test_count(out, "Condition event fired"), 4);
    /* Both wake per notify, but one at a time: 1 s (scaled) apart. */
    double at[4];
    const char *p = out;
    for (int i = 0; i < 4; i++) {
        p = strstr(p, "] Condition event fired");
        const char *q = p;
        while (q[-1] != '[')
            q--;
        at[i] = atof(q);
        p++;
    }
    for (int i = 0; i < 4; i += 2) {
        double gap = at[i + 1] - at[i];
        ASSERT_BETWEEN(gap, 0.09, 0.3);
    }
    ASSERT_BETWEEN(at[0], 0.48, 0.8);
    ASSERT_BETWEEN(at[2], 0.98, 1.4);
    free(out);
}
END_TEST

/* --- servers --- */

/* Start a demo server at the test scale on a free port; extra args after. */
static void server_start(struct test_server *s, const char *rel, char *const args[])
{
    static const char *const pre[] = {"--scale", SCALE, "--port", "0", NULL};
    test_server_start_demo(s, rel, pre, (const char *const *)args);
}

/* Connect, send req, half-close, read the whole answer into resp. */
static void exchange(int port, const char *req, char *resp, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ck_assert(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
    shutdown(fd, SHUT_WR);
    size_t len = 0;
    for (ssize_t n; cap > 1 && (n = read(fd, resp + len, cap - 1 - len)) > 0;)
        len += (size_t)n;
    resp[len] = '\0';
    close(fd);
}

START_TEST(test_11_12_upload_server)
{
    static struct test_server s;
    server_start(&s, "demos/ch11/listing_11_12", (char *const[]){"--once", NULL});
    char resp[64];
    exchange(s.port, "uploaded line one\nuploaded line two\n\033[2Jcleared?\n", resp, sizeof resp);
    ck_assert_int_eq(test_server_wait(&s, 15), 0);
    ck_assert_contains(s.buf, "uploaded line one\nuploaded line two\n");
    /* a client's escape sequence is shown, not obeyed (ESC as U+241B) */
    ck_assert_contains(s.buf, "\xe2\x90\x9b[2Jcleared?\n");
    ck_assert_msg(!strchr(s.buf, '\033'), "an escape sequence was printed raw:\n%s", s.buf);
}
END_TEST

/* An upload over the demo's 16 MiB cap is refused and its memory freed; the
 * server stays up for the next one. */
START_TEST(test_11_12_upload_too_big)
{
    static struct test_server s;
    server_start(&s, "demos/ch11/listing_11_12", NULL);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    static char chunk[1 << 16];
    memset(chunk, 'x', sizeof chunk);
    size_t sent = 0;
    for (ssize_t n; sent < (32u << 20); sent += (size_t)n)
        if ((n = send(fd, chunk, sizeof chunk, MSG_NOSIGNAL)) <= 0)
            break; /* the server closed on us: the cap */
    ck_assert_msg(sent < (32u << 20), "32 MiB went in: no cap");
    close(fd);
    char resp[64];
    exchange(s.port, "small one\n", resp, sizeof resp);
    for (int i = 0; i < 150 && !strstr(s.buf, "small one\n"); i++)
        test_server_read(&s, 0.1); /* returns as soon as output comes */
    ck_assert_contains(s.buf, "upload failed: File too large");
    ck_assert_contains(s.buf, "small one\n");
    kill(s.pid, SIGTERM);
    ck_assert_int_eq(test_server_wait(&s, 15), 0);
}
END_TEST

/* --- chapter 12 --- */

START_TEST(test_12_1_supermarket)
{
    char *out = run_demo("demos/ch12/listing_12_1", 0, NULL, NULL);
    ck_assert_int_eq(test_count(out, "finished checking out customer"), 10);
    for (int i = 0; i < 3; i++) {
        char c[64];
        snprintf(c, sizeof c, "Cashier %d checking out customer", i);
        ck_assert_contains(out, c);
    }
    ck_assert_contains(out, "All customers checked out");
    free(out);
}
END_TEST

START_TEST(test_12_2_producer_consumers)
{
    char *out = run_demo("demos/ch12/listing_12_2", 0, NULL, "--batches", "4", "--maxsize", "1",
                         "--seed", "3", NULL);
    int put = test_count(out, "Customer put in line!");
    ck_assert_int_gt(put, 0);
    ck_assert_int_eq(test_count(out, "Waiting to put customer in line..."), put);
    ck_assert_int_eq(test_count(out, "finished checking out customer"), put);
    ck_assert_contains(out, "Line is empty, closing the store");
    free(out);
}
END_TEST

START_TEST(test_12_5_12_6_priority)
{
    char *out = run_demo("demos/ch12/listing_12_5", 0, NULL, NULL);
    ck_assert_str_eq(out, "Processing work item (1, 'High priority')\n"
                          "Processing work item (2, 'Medium priority')\n"
                          "Processing work item (3, 'Lowest priority')\n");
    free(out);
    out = run_demo("demos/ch12/listing_12_6", 0, NULL, NULL);
    ck_assert_str_eq(out, "Processing work item WorkItem(priority=1, data='High priority')\n"
                          "Processing work item WorkItem(priority=2, data='Medium priority')\n"
                          "Processing work item WorkItem(priority=3, data='Lowest priority')\n");
    free(out);
}
END_TEST

START_TEST(test_12_10_lifo)
{
    char *out = run_demo("demos/ch12/listing_12_10", 0, NULL, NULL);
    TEST_IN_ORDER(out, "order=5", "order=4", "order=3", "order=2", "order=1");
    ck_assert_int_eq(test_count(out, "Processing work item"), 5);
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("demos_sync");
    TCase *tc = test_tcase(s, "ch11", 60);
    tcase_add_test(tc, test_11_1_no_race);
    tcase_add_test(tc, test_11_2_race);
    tcase_add_test(tc, test_11_3_race_escapes_gather);
    tcase_add_test(tc, test_11_4_lock);
    tcase_add_test(tc, test_11_5_lock_guards_map);
    tcase_add_test(tc, test_11_6_semaphore);
    tcase_add_test(tc, test_11_8_over_release);
    tcase_add_test(tc, test_11_9_bounded_semaphore);
    tcase_add_test(tc, test_11_10_event);
    tcase_add_test(tc, test_11_11_file_upload);
    tcase_add_test(tc, test_11_13_events_coalesce);
    tcase_add_test(tc, test_11_14_condition);
    tc = test_tcase(s, "servers", 60);
    tcase_add_test(tc, test_11_12_upload_server);
    tcase_add_test(tc, test_11_12_upload_too_big);
    tc = test_tcase(s, "ch12", 60);
    tcase_add_test(tc, test_12_1_supermarket);
    tcase_add_test(tc, test_12_2_producer_consumers);
    tcase_add_test(tc, test_12_5_12_6_priority);
    tcase_add_test(tc, test_12_10_lifo);
    return test_main(s);
}
