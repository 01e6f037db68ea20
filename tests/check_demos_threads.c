/* check_demos_threads.c - smoke tests for the demos of chapter 7 (threads).
 *
 * Each test runs one built demo at a small time scale (--scale 0.1) and checks
 * the printed lines and the timing relations the listing is about, with
 * tolerances. The servers (7.1, 7.2) listen on 127.0.0.1 port 0 and announce
 * "listening on ADDR:PORT" on stderr; the test drives them with blocking
 * sockets, bounded waits and SIGINT. Runs once, not per backend. */
#include "harness/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
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

static const char *demo_input; /* stdin for the next run_demo (NULL: /dev/null) */

/* Run demos/<rel> --scale SCALE args... with demo_input; assert the exit status. */
static char *run_demo(const char *rel, int want_status, double *elapsed, ...)
{
    static const char *const pre[] = {"--scale", SCALE, NULL};
    struct test_demo how = {.input = demo_input, .want_status = want_status, .pre = pre};
    demo_input = NULL;
    va_list ap;
    va_start(ap, elapsed);
    char *out = test_run_demov(rel, &how, elapsed, ap);
    va_end(ap);
    return out;
}

#define ASSERT_BETWEEN(x, lo, hi) ck_assert_msg((x) >= (lo) && (x) <= (hi), "%s = %.3f", #x, (x))

/* --- servers --- */

/* Start a demo server at the test scale on a free port; extra args after. */
static void server_start(struct test_server *s, const char *rel, char *const args[])
{
    static const char *const pre[] = {"--scale", SCALE, "--port", "0", NULL};
    test_server_start_demo(s, rel, pre, (const char *const *)args);
}

/* Connect a blocking client with a receive timeout. */
static int client(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void echo_ok(int fd, const char *msg)
{
    char buf[64] = "";
    ck_assert(write(fd, msg, strlen(msg)) == (ssize_t)strlen(msg));
    size_t len = 0;
    while (len < strlen(msg)) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        ck_assert_msg(n > 0, "no echo");
        len += (size_t)n;
    }
    ck_assert_str_eq(buf, msg);
}

START_TEST(test_7_1_thread_per_client)
{
    static struct test_server s;
    server_start(&s, "demos/ch07/listing_7_1", (char *const[]){"--clients", "2", NULL});
    int a = client(s.port), b = client(s.port);
    echo_ok(a, "hello a\n");
    echo_ok(b, "hello b\n");
    close(a);
    close(b);
    ck_assert_int_eq(test_server_wait(&s, 15), 0);
    ck_assert_int_eq(test_count(s.buf, "Connection from 127.0.0.1"), 2);
    ck_assert_int_eq(test_count(s.buf, "Client disconnected"), 2);
}
END_TEST

START_TEST(test_7_2_shutdown_wakes_threads)
{
    static struct test_server s;
    server_start(&s, "demos/ch07/listing_7_2", (char *const[]){NULL});
    int a = client(s.port), b = client(s.port);
    echo_ok(a, "one\n");
    echo_ok(b, "two\n");
    kill(s.pid, SIGINT);
    for (int i = 0; i < 2; i++) {
        int fd = i ? b : a;
        char buf[64] = "";
        size_t len = 0;
        for (ssize_t n; (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0;)
            len += (size_t)n;
        ck_assert_str_eq(buf, "Stopping!"); /* then EOF: the socket was shut down */
        close(fd);
    }
    ck_assert_int_eq(test_server_wait(&s, 15), 0);
    TEST_IN_ORDER(s.buf, "Shutting down!", "shutting down!", "shutting down!",
                  "All 2 client threads stopped.");
}
END_TEST

/* --- locks and thread-safe structures --- */

START_TEST(test_7_9_rlock)
{
    char *out = run_demo("demos/ch07/listing_7_9", 0, NULL, NULL);
    const char *plain = strstr(out, "With a plain lock");
    ck_assert_msg(plain, "%s", out);
    ck_assert_int_eq(test_count(out, "Lock acquired.") - test_count(plain, "Lock acquired."), 5);
    TEST_IN_ORDER(out, "Finished summing.", "Sum: 10", "With a plain lock", "Lock acquired.",
                  "Could not acquire lock: timed out");
    free(out);
}
END_TEST

START_TEST(test_7_10_threadsafe_list)
{
    char *out = run_demo("demos/ch07/listing_7_10", 0, NULL, NULL);
    ck_assert_str_eq(out, "[2, 2, 2, 2, 2]\n");
    free(out);
}
END_TEST

/* --- a UI and a loop in another thread --- */

START_TEST(test_7_12_key_says_hello)
{
    demo_input = "hxh\nq";
    char *out = run_demo("demos/ch07/listing_7_12", 0, NULL, NULL);
    ck_assert_int_eq(test_count(out, "Hello!"), 3);
    free(out);
}
END_TEST

START_TEST(test_7_13_stress_from_another_thread)
{
    char *out = run_demo("demos/ch07/listing_7_13", 0, NULL, NULL);
    ck_assert_int_eq(test_count(out, "Completed "), 100); /* every 1% */
    TEST_IN_ORDER(out, "Completed 2/200 requests (1%)", "Completed 200/200 requests (100%)",
                  "Stress test finished");
    free(out);
    out = run_demo("demos/ch07/listing_7_13", 0, NULL, "--requests", "400", "--cancel-after", "0",
                   NULL);
    TEST_IN_ORDER(out, "Cancelling from the main thread", "Stress test Operation canceled");
    ck_assert_int_eq(test_count(out, "Completed 400/400"), 0);
    free(out);
}
END_TEST

START_TEST(test_7_14_progress_ui)
{
    demo_input = "\n300\n";
    char *out = run_demo("demos/ch07/listing_7_14", 0, NULL, NULL);
    TEST_IN_ORDER(out, "Number of requests: ", "Using the local test server", "100% (300/300)",
                  "Load test finished.");
    free(out);
    demo_input = "\n2000\nc";
    out = run_demo("demos/ch07/listing_7_14", 0, NULL, NULL);
    ck_assert_contains(out, "Load test cancelled.");
    ck_assert_int_eq(test_count(out, "(2000/2000)"), 0);
    free(out);
}
END_TEST

START_TEST(test_7_15_loop_thread_and_ui_thread)
{
    demo_input = "50\n80\nq\n";
    char *out = run_demo("demos/ch07/listing_7_15", 0, NULL, NULL);
    TEST_IN_ORDER(out, "Loop running in a background thread", "last of 50 requests answered",
                  "50 requests done", "last of 80 requests answered", "80 requests done",
                  "Stopping the loop thread");
    free(out);
}
END_TEST

/* --- CPU work: scrypt --- */

/* 7.17's pool proves it ran hashes together by structure (the peak number in
 * progress at once), not by a speed-up, which a busy machine can take away. */
START_TEST(test_7_16_7_17_scrypt)
{
    char *out = run_demo("demos/ch07/listing_7_16", 0, NULL, "--count", "20", NULL);
    ck_assert_contains(out, "Hashed 20 passwords in one thread in");
    free(out);
    out = run_demo("demos/ch07/listing_7_17", 0, NULL, "--count", "120", "--threads", "2", NULL);
    const char *one = strstr(out, "Hashed 120 passwords on a pool of 1 thread(s)");
    const char *two = strstr(out, "Hashed 120 passwords on a pool of 2 thread(s)");
    ck_assert_msg(one && two && one < two, "missing or out of order:\n%s", out);
    const char *m1 = strstr(one, "(at most 1 at once)");
    ck_assert_msg(m1 && m1 < two, "a 1-thread pool ran 2 at once:\n%s", out);
    ck_assert_msg(strstr(two, "(at most 2 at once)") != NULL,
                  "the 2-thread pool never ran two hashes at once:\n%s", out);
    ck_assert_contains(two, "Speed-up with 2 threads: ");
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("demos_threads");
    TCase *tc = test_tcase(s, "servers", 60);
    tcase_add_test(tc, test_7_1_thread_per_client);
    tcase_add_test(tc, test_7_2_shutdown_wakes_threads);
    tc = test_tcase(s, "pools", 60);
    tc = test_tcase(s, "locks", 30);
    tcase_add_test(tc, test_7_9_rlock);
    tcase_add_test(tc, test_7_10_threadsafe_list);
    tc = test_tcase(s, "ui_threads", 60);
    tcase_add_test(tc, test_7_12_key_says_hello);
    tcase_add_test(tc, test_7_13_stress_from_another_thread);
    tcase_add_test(tc, test_7_14_progress_ui);
    tcase_add_test(tc, test_7_15_loop_thread_and_ui_thread);
    tc = test_tcase(s, "cpu", 120);
    tcase_add_test(tc, test_7_16_7_17_scrypt);
    return test_main(s);
}
