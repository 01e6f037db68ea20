/* check_demos_core.c - smoke tests for the demos of chapters 1, 2 and 14.
 *
 * Each test runs one built demo (test_run, output captured) at a small time
 * scale and checks the printed lines, their order and the concurrency
 * relations the listing is about, with tolerances. Run once, not per backend
 * (tests/run-suites runs check_demos_* on the first backend only); 14.4 tries
 * every backend itself. */
#include "harness/harness.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCALE "0.1"

/* Run demos/<rel> with --scale (unless NULL) and args (NULL-terminated); assert exit 0. */
static char *run_demo(const char *rel, const char *scale, double *elapsed, ...)
{
    const char *pre[] = {"--scale", scale, NULL};
    va_list ap;
    va_start(ap, elapsed);
    char *out = test_run_demov(rel, &(struct test_demo){.timeout_s = 30, .pre = scale ? pre : NULL},
                               elapsed, ap);
    va_end(ap);
    return out;
}

#define IN_ORDER TEST_IN_ORDER

/* The number printed right after the k-th (0-based) occurrence of prefix. */
static double number_after(const char *out, const char *prefix, int k)
{
    const char *p = strstr(out, prefix);
    for (; p && k > 0; k--)
        p = strstr(p + 1, prefix);
    ck_assert_msg(p != NULL, "no \"%s\" #%d in output:\n%s", prefix, k, out);
    return strtod(p + strlen(prefix), NULL);
}

/* A duration: never (much) shorter than scheduled, and below the wrong answer. */
#define ASSERT_SECS(x, lo, hi)                                                                     \
    ck_assert_msg((x) >= (lo)-0.005 && (x) < (hi), "%s = %.4f s, expected [%.3f, %.3f)", #x,       \
                  (double)(x), (double)(lo), (double)(hi))

/* --- chapter 1 --- */

START_TEST(test_1_2)
{
    char *out = run_demo("demos/ch01/listing_1_2", NULL, NULL, NULL);
    IN_ORDER(out, "process id: ", "Currently running 1 thread(s)",
             "The current thread is MainThread");
    free(out);
}
END_TEST

START_TEST(test_1_3)
{
    char *out = run_demo("demos/ch01/listing_1_3", NULL, NULL, NULL);
    IN_ORDER(out, "Currently running 2 thread(s)", "The current thread is MainThread",
             "After join: 1 thread(s)");
    ck_assert_contains(out, "Hello from thread Thread-1");
    free(out);
}
END_TEST

START_TEST(test_1_4)
{
    char *out = run_demo("demos/ch01/listing_1_4", NULL, NULL, NULL);
    int child = (int)number_after(out, "Hello from child process ", 0);
    int parent = (int)number_after(out, "Hello from parent process ", 0);
    ck_assert_int_gt(child, 0);
    ck_assert_int_ne(child, parent);
    ck_assert_int_eq((int)number_after(out, "Child ", 0), child);
    free(out);
}
END_TEST

START_TEST(test_1_5)
{
    char *out = run_demo("demos/ch01/listing_1_5", SCALE, NULL, NULL);
    IN_ORDER(out, "fib(40) is 63245986", "fib(41) is 102334155", "Completed in ");
    free(out);
}
END_TEST

/* Concurrency by structure, not by speed: each job prints when it ran ("ran
 * A..B s", one clock for every thread and process). Jobs that ran at the same
 * time have overlapping intervals; jobs run in turn do not. No wall-time ratio
 * is asserted (on a loaded machine the speed-up can vanish; the overlap cannot). */
static void intervals(const char *out, double (*iv)[2], int n)
{
    const char *p = out;
    for (int i = 0; i < n; i++) {
        p = strstr(p, "ran ");
        ck_assert_msg(p != NULL, "no \"ran A..B s\" #%d in output:\n%s", i, out);
        ck_assert_msg(sscanf(p, "ran %lf..%lf s", &iv[i][0], &iv[i][1]) == 2 &&
                          iv[i][0] <= iv[i][1],
                      "bad interval #%d in output:\n%s", i, out);
        p += 4;
    }
    ck_assert_msg(!strstr(p, "ran "), "more than %d intervals in output:\n%s", n, out);
}

static bool overlap(const double *a, const double *b) { return a[0] < b[1] && b[0] < a[1]; }

START_TEST(test_1_6)
{
    char *out = run_demo("demos/ch01/listing_1_6", "0.15", NULL, NULL);
    ck_assert_int_eq(test_count(out, "fib(4"), 2);
    ck_assert_contains(out, "Threads completed in ");
    ck_assert_contains(out, "Sum of the jobs' CPU time: ");
    double iv[2][2];
    intervals(out, iv, 2);
    ck_assert_msg(overlap(iv[0], iv[1]), "the two threads never ran at the same time:\n%s", out);
    free(out);
}
END_TEST

START_TEST(test_1_6a)
{
    char *out = run_demo("demos/ch01/listing_1_6a", "0.15", NULL, NULL);
    TEST_IN_ORDER(out, " is ", " is ", " is ", " is ", " is ", " is ", "Sequential completed in ",
                  "Threads completed in ", "Processes completed in ");
    double iv[6][2];
    intervals(out, iv, 6);
    ck_assert_msg(!overlap(iv[0], iv[1]), "the sequential jobs overlapped:\n%s", out);
    ck_assert_msg(overlap(iv[2], iv[3]), "the two threads never ran at the same time:\n%s", out);
    ck_assert_msg(overlap(iv[4], iv[5]), "the two processes never ran at the same time:\n%s", out);
    free(out);
}
END_TEST

/* --- chapter 2 --- */

START_TEST(test_2_3)
{
    char *out = run_demo("demos/ch02/listing_2_3", NULL, NULL, NULL);
    ck_assert_str_eq(out, "result = 2\n");
    free(out);
}
END_TEST

START_TEST(test_2_4)
{
    char *out = run_demo("demos/ch02/listing_2_4", NULL, NULL, NULL);
    ck_assert_str_eq(out, "2\n3\n");
    free(out);
}
END_TEST

START_TEST(test_2_5)
{
    double t;
    char *out = run_demo("demos/ch02/listing_2_5", SCALE, &t, NULL);
    ck_assert_str_eq(out, "Hello World!\n");
    ck_assert_msg(t >= 0.1 && t < 1.0, "took %.3f s", t);
    free(out);
}
END_TEST

START_TEST(test_2_6)
{
    char *out = run_demo("demos/ch02/listing_2_6", SCALE, NULL, NULL);
    IN_ORDER(out, "Starting sleep for 1 sec...\n", "End sleeping for 1 sec.\n",
             "delay(1) returned 1\n", "Starting sleep for 2 sec...\n",
             "delay(2) was cancelled: ECANCELED\n");
    ck_assert_int_eq(test_count(out, "End sleeping for 2 sec."), 0);
    free(out);
}
END_TEST

START_TEST(test_2_7)
{
    char *out = run_demo("demos/ch02/listing_2_7", SCALE, NULL, NULL);
    IN_ORDER(out, "one_plus_one = 2\n", "Hello World!\n");
    ASSERT_SECS(number_after(out, "Finished in ", 0), 0.1, 0.35);
    free(out);
}
END_TEST

START_TEST(test_2_8)
{
    char *out = run_demo("demos/ch02/listing_2_8", SCALE, NULL, NULL);
    IN_ORDER(out, "<Task pending", "Starting sleep for 3 sec...", "End sleeping for 3 sec.",
             "result: 3\n");
    free(out);
}
END_TEST

START_TEST(test_2_9)
{
    char *out = run_demo("demos/ch02/listing_2_9", SCALE, NULL, NULL);
    const char *s = "Starting sleep for 3 sec...\n", *e = "End sleeping for 3 sec.\n";
    IN_ORDER(out, s, s, s, e, e, e); /* all three start before any ends */
    double total = number_after(out, "Total time: ", 0);
    ASSERT_SECS(total, 0.3, 0.6); /* the longest task, not the sum (0.9) */
    free(out);
}
END_TEST

START_TEST(test_2_10)
{
    char *out = run_demo("demos/ch02/listing_2_10", SCALE, NULL, NULL);
    const char *s = "Starting sleep for 3 sec...\n", *e = "End sleeping for 3 sec.\n";
    const char *o = "Other code is executed while I'm waiting!\n";
    IN_ORDER(out, s, s, o, o, e, e);
    ASSERT_SECS(number_after(out, "Total time: ", 0), 0.3, 0.6);
    free(out);
}
END_TEST

START_TEST(test_2_11)
{
    char *out = run_demo("demos/ch02/listing_2_11", SCALE, NULL, NULL);
    ck_assert_int_eq(test_count(out, "Task is not done"), 6);
    IN_ORDER(out, "Starting sleep for 10 sec...", "Cancelling the task after 5 sec.",
             "Task is not done", "Task was cancelled.\n");
    ck_assert_int_eq(test_count(out, "End sleeping"), 0);
    ASSERT_SECS(number_after(out, "Total time: ", 0), 0.6, 0.95); /* not 1.0 */
    free(out);
}
END_TEST

START_TEST(test_2_12)
{
    char *out = run_demo("demos/ch02/listing_2_12", SCALE, NULL, NULL);
    IN_ORDER(out, "Starting sleep for 3 sec...", "Timeout!\n", "Task was cancelled? True\n");
    ck_assert_int_eq(test_count(out, "End sleeping"), 0);
    ASSERT_SECS(number_after(out, "Total time: ", 0), 0.1, 0.28); /* the timeout, not 0.3 */
    free(out);
}
END_TEST

START_TEST(test_2_13)
{
    char *out = run_demo("demos/ch02/listing_2_13", SCALE, NULL, NULL);
    IN_ORDER(out, "Starting sleep for 10 sec...",
             "Task took longer than five seconds, it will finish soon!\n",
             "End sleeping for 10 sec.\n", "10\n");
    ASSERT_SECS(number_after(out, "Total time: ", 0), 1.0, 1.4); /* shielded: ran to the end */
    free(out);
}
END_TEST

START_TEST(test_2_14)
{
    char *out = run_demo("demos/ch02/listing_2_14", NULL, NULL, NULL);
    IN_ORDER(out, "<Future pending>", "Is my_future done? False\n", "Is my_future done? True\n",
             "What is the result of my_future? 42\n", "<Future finished result=42>");
    free(out);
}
END_TEST

START_TEST(test_2_15)
{
    double t;
    char *out = run_demo("demos/ch02/listing_2_15", SCALE, &t, NULL);
    ck_assert_str_eq(out, "Is the future done? False\nIs the future done? True\nvalue = 42\n");
    ck_assert_msg(t >= 0.1 && t < 1.0, "took %.3f s", t);
    free(out);
}
END_TEST

START_TEST(test_2_16)
{
    char *out = run_demo("demos/ch02/listing_2_16", SCALE, NULL, NULL);
    const char *p = IN_ORDER(out, "Calling delay with arguments (1,) {}\n", "Starting sleep for 1",
                             "End sleeping for 1", "delay completed in ");
    ASSERT_SECS(strtod(p, NULL), 0.1, 0.25);
    p = IN_ORDER(p, "Calling delay with arguments (2,) {}\n", "delay completed in ");
    ASSERT_SECS(strtod(p, NULL), 0.2, 0.35);
    ck_assert_msg(strstr(p, " sec.\n") == p + 6, "4 decimals then \" sec.\": %s", p);
    free(out);
}
END_TEST

START_TEST(test_2_17)
{
    char *out = run_demo("demos/ch02/listing_2_17", SCALE, NULL, NULL);
    IN_ORDER(out, "Calling main", "Calling delay with arguments (2,) {}",
             "Calling delay with arguments (3,) {}", "End sleeping for 2", "End sleeping for 3",
             "main completed in ");
    ASSERT_SECS(number_after(out, "delay completed in ", 0), 0.2, 0.35);
    ASSERT_SECS(number_after(out, "delay completed in ", 1), 0.3, 0.45);
    ASSERT_SECS(number_after(out, "main completed in ", 0), 0.3, 0.48); /* not 0.5 */
    free(out);
}
END_TEST

START_TEST(test_2_18)
{
    char *out = run_demo("demos/ch02/listing_2_18", "0.05", NULL, NULL);
    const char *c = "Calling cpu_bound_work", *d = "cpu_bound_work completed in ";
    IN_ORDER(out, "Calling main", c, d, c, d, "main completed in "); /* one after the other */
    double a = number_after(out, d, 0), b = number_after(out, d, 1);
    double m = number_after(out, "main completed in ", 0);
    ck_assert_msg(a > 0.02 && b > 0.02, "CPU work took %.4f and %.4f s: elided?", a, b);
    ASSERT_SECS(m, a + b, a + b + 0.1); /* serial: the sum */
    free(out);
}
END_TEST

START_TEST(test_2_19)
{
    char *out = run_demo("demos/ch02/listing_2_19", "0.05", NULL, NULL);
    const char *c = "Calling cpu_bound_work", *d = "cpu_bound_work completed in ";
    IN_ORDER(out, "Calling main", c, d, c, d, "Calling delay with arguments (4,) {}",
             "Starting sleep for 4 sec...", "End sleeping for 4 sec.", "main completed in ");
    double a = number_after(out, d, 0), b = number_after(out, d, 1);
    double s = number_after(out, "delay completed in ", 0);
    double m = number_after(out, "main completed in ", 0);
    ASSERT_SECS(s, 0.2, 0.35);                 /* the sleep is not shortened */
    ASSERT_SECS(m, a + b + 0.2, a + b + 0.35); /* CPU + sleep, not max */
    free(out);
}
END_TEST

START_TEST(test_2_21)
{
    double t;
    char *out = run_demo("demos/ch02/listing_2_21", SCALE, &t, NULL);
    IN_ORDER(out, "Created a loop (backend ", "main: sleeping for 1 sec...", "main: done sleeping",
             "run_until_complete returned 0", "Loop closed\n");
    ck_assert_msg(t >= 0.1, "took %.3f s", t);
    free(out);
}
END_TEST

START_TEST(test_2_22)
{
    char *out = run_demo("demos/ch02/listing_2_22", SCALE, NULL, NULL);
    ck_assert_str_eq(out, "Starting sleep for 1 sec...\nI will be called soon!\n"
                          "End sleeping for 1 sec.\n");
    free(out);
}
END_TEST

START_TEST(test_2_23)
{
    char *out = run_demo("demos/ch02/listing_2_23", SCALE, NULL, NULL);
    ck_assert_contains(out, "debug mode: on");
    ck_assert_contains(out, "cpu_bound_work completed in ");
    double took = number_after(out, "Executing <Task name='cpu_bound_work'> took ", 0);
    ck_assert_msg(took > 0.025, "slow step of %.3f s is under the 0.025 s threshold", took);
    free(out);
}
END_TEST

/* --- chapter 14 --- */

START_TEST(test_14_1)
{
    char *out = run_demo("demos/ch14/listing_14_1", SCALE, NULL, NULL);
    ck_assert_str_eq(out, "Running coroutine, sleeping!\nRunning coroutine, sleeping!\n"
                          "Greetings from regular function!\nWoke up!\nWoke up!\n");
    free(out);
}
END_TEST

START_TEST(test_14_2)
{
    char *out =
        run_demo("demos/ch14/listing_14_2", NULL, NULL, "--port", "0", "--clients", "3", NULL);
    ck_assert_int_eq(test_count(out, "Client connected: "), 3);
    ck_assert_int_eq(test_count(out, "Received message '"), 6);
    /* Every reader must see its own client's address in the context variable. */
    for (const char *p = strstr(out, "Received message '"); p;
         p = strstr(p + 1, "Received message '")) {
        int sent_port = 0, ctx_port = 0;
        char word[8];
        ck_assert_msg(sscanf(p, "Received message '%7s from port %d' from ('127.0.0.1', %d)", word,
                             &sent_port, &ctx_port) == 3,
                      "bad line in:\n%s", out);
        ck_assert_int_eq(sent_port, ctx_port);
    }
    free(out);
}
END_TEST

START_TEST(test_14_3)
{
    char *out = run_demo("demos/ch14/listing_14_3", SCALE, NULL, NULL);
    const char *s1 = "Starting sleep for 1 sec...", *s2 = "Starting sleep for 2 sec...";
    const char *g = "Applying gather() to tasks:";
    IN_ORDER(out, "--- without sleep(0)", g, s1, s2, "--- with sleep(0)", s1, s2, g,
             "End sleeping for 2 sec.");
    free(out);
}
END_TEST

START_TEST(test_14_4)
{
    char *out =
        run_demo("demos/ch14/listing_14_4", NULL, NULL, "--port", "0", "--clients", "50", NULL);
    IN_ORDER(out, "epoll   echoed 50/50 one-line clients", "poll    echoed 50/50 one-line clients",
             "kqueue  ", "poll / epoll time ratio: ");
    free(out);
}
END_TEST

START_TEST(test_14_5)
{
    char *out = run_demo("demos/ch14/listing_14_5", SCALE, NULL, NULL);
    IN_ORDER(out, "stackless 1: Sleeping!", "stackless 2: Sleeping!", "stackful: Sleeping!",
             "stackless 1: Finished!", "stackless 2: Finished!", "stackful: Finished!",
             "states: -1 -1");
    ASSERT_SECS(number_after(out, "total ", 0), 0.1, 0.28); /* side by side, not 0.3 */
    free(out);
}
END_TEST

START_TEST(test_14_8)
{
    char *out = run_demo("demos/ch14/listing_14_8", NULL, NULL, NULL);
    ck_assert_int_eq(test_count(out, "Checking future..."), 3);
    ck_assert_int_eq(test_count(out, "Future is not done..."), 2);
    IN_ORDER(out, "Future is not done", "Future is not done", "Setting future value...",
             "Done callback called with: Finished!", "Checking future...", "Value is: Finished!\n");
    free(out);
}
END_TEST

START_TEST(test_14_10)
{
    char *out = run_demo("demos/ch14/listing_14_10", NULL, NULL, "--port", "0", "--client", NULL);
    IN_ORDER(out, "listening on 127.0.0.1:", "Processing selector events...\n",
             "App finished. The coroutine returned the listening socket");
    free(out);
}
END_TEST

START_TEST(test_14_11)
{
    char *out = run_demo("demos/ch14/listing_14_11", SCALE, NULL, NULL);
    IN_ORDER(out, "Coroutine: awaiting the first future", "Task: coroutine yielded a future",
             "Loop: timer fired, setting the future to 40", "Task: future done",
             "Coroutine: got 40", "Loop: timer fired, setting the future to 2",
             "Coroutine: got 2, returning 42", "Task finished with result 42",
             "task finished? True");
    ASSERT_SECS(number_after(out, "Loop done in ", 0), 0.2, 0.4);
    free(out);
}
END_TEST

/* --- every demo answers --help with its usage and exit 0 --- */

static const char *const all_demos[] = {
    "ch01/listing_1_2",   "ch01/listing_1_3",   "ch01/listing_1_4",  "ch01/listing_1_5",
    "ch01/listing_1_6",   "ch01/listing_1_6a",  "ch02/listing_2_3",  "ch02/listing_2_4",
    "ch02/listing_2_5",   "ch02/listing_2_6",   "ch02/listing_2_7",  "ch02/listing_2_8",
    "ch02/listing_2_9",   "ch02/listing_2_10",  "ch02/listing_2_11", "ch02/listing_2_12",
    "ch02/listing_2_13",  "ch02/listing_2_14",  "ch02/listing_2_15", "ch02/listing_2_16",
    "ch02/listing_2_17",  "ch02/listing_2_18",  "ch02/listing_2_19", "ch02/listing_2_21",
    "ch02/listing_2_22",  "ch02/listing_2_23",  "ch14/listing_14_1", "ch14/listing_14_2",
    "ch14/listing_14_3",  "ch14/listing_14_4",  "ch14/listing_14_5", "ch14/listing_14_8",
    "ch14/listing_14_10", "ch14/listing_14_11",
};
enum { NDEMOS = sizeof all_demos / sizeof all_demos[0] };

START_TEST(test_help)
{
    char rel[64];
    snprintf(rel, sizeof rel, "demos/%s", all_demos[_i]);
    char *out = run_demo(rel, NULL, NULL, "--help", NULL);
    const char *name = strrchr(all_demos[_i], '/') + 1;
    char want[64];
    snprintf(want, sizeof want, "usage: %s", name);
    ck_assert_contains(out, want);
    ck_assert_contains(out, "--scale F");
    free(out);
}
END_TEST

START_TEST(test_bad_argument)
{
    char path[512];
    char *argv[] = {(char *)test_build_path("demos/ch02/listing_2_3", path, sizeof path),
                    "--no-such-option", NULL};
    char *out = NULL;
    ck_assert_int_eq(test_run(argv, NULL, 10, &out, NULL), 2);
    ck_assert_contains(out, "unknown argument");
    free(out);
    /* a number option takes a whole number, not its prefix (demo_arg_long) */
    argv[0] = (char *)test_build_path("demos/ch02/listing_2_6", path, sizeof path);
    argv[1] = "--seconds";
    char *more[] = {argv[0], argv[1], "2x", NULL};
    ck_assert_int_eq(test_run(more, NULL, 10, &out, NULL), 2);
    ck_assert_contains(out, "--seconds: '2x' is not a whole number");
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("demos_core");
    TCase *ch1 = test_tcase(s, "chapter1", 60);
    tcase_add_test(ch1, test_1_2);
    tcase_add_test(ch1, test_1_3);
    tcase_add_test(ch1, test_1_4);
    tcase_add_test(ch1, test_1_5);
    tcase_add_test(ch1, test_1_6);
    tcase_add_test(ch1, test_1_6a);
    TCase *ch2 = test_tcase(s, "chapter2", 30);
    tcase_add_test(ch2, test_2_3);
    tcase_add_test(ch2, test_2_4);
    tcase_add_test(ch2, test_2_5);
    tcase_add_test(ch2, test_2_6);
    tcase_add_test(ch2, test_2_7);
    tcase_add_test(ch2, test_2_8);
    tcase_add_test(ch2, test_2_9);
    tcase_add_test(ch2, test_2_10);
    tcase_add_test(ch2, test_2_11);
    tcase_add_test(ch2, test_2_12);
    tcase_add_test(ch2, test_2_13);
    tcase_add_test(ch2, test_2_14);
    tcase_add_test(ch2, test_2_15);
    tcase_add_test(ch2, test_2_16);
    tcase_add_test(ch2, test_2_17);
    tcase_add_test(ch2, test_2_18);
    tcase_add_test(ch2, test_2_19);
    tcase_add_test(ch2, test_2_21);
    tcase_add_test(ch2, test_2_22);
    tcase_add_test(ch2, test_2_23);
    TCase *ch14 = test_tcase(s, "chapter14", 30);
    tcase_add_test(ch14, test_14_1);
    tcase_add_test(ch14, test_14_2);
    tcase_add_test(ch14, test_14_3);
    tcase_add_test(ch14, test_14_4);
    tcase_add_test(ch14, test_14_5);
    tcase_add_test(ch14, test_14_8);
    tcase_add_test(ch14, test_14_10);
    tcase_add_test(ch14, test_14_11);
    TCase *help = test_tcase(s, "help", 30);
    tcase_add_loop_test(help, test_help, 0, NDEMOS);
    tcase_add_test(help, test_bad_argument);
    return test_main(s);
}
