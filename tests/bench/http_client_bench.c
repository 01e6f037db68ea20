/* http_client_bench.c - loom's HTTP client on a keep-alive pool (issue 10,
 * item 7): N tasks share one session (a pool of N connections to one origin)
 * and each does M GETs of url, reading every body to the end. Prints
 *
 *     requests R
 *     rps X          requests per second (wall)
 *     cpu_us Y       CPU (user + sys, getrusage) per request, in µs
 *
 * The clock starts after one warm-up GET per task (so the connections are
 * open and the pool full) and stops when the last task is done.
 *
 *     http_client_bench URL N M */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "loom/net/http.h"
#include "loom/reactor/task.h"

static struct loom_http_session *session;
static const char *url;
static long per_task;
static long failed;

static int get_once(void)
{
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN];
    int rc = loom_http_get(session, url, &r, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "GET %s: %s\n", url, err);
        return rc;
    }
    char buf[16384];
    ssize_t n;
    while ((n = loom_http_response_read(r, buf, sizeof buf)) > 0) {
    }
    if (n < 0 || loom_http_response_status(r) != 200) {
        fprintf(stderr, "GET %s: status %d, read %zd (%s)\n", url, loom_http_response_status(r), n,
                loom_http_response_error(r));
        rc = n < 0 ? (int)n : -1;
    }
    loom_http_response_close(r);
    return rc;
}

static intptr_t worker(void *arg)
{
    for (long i = 0; i < per_task; i++) {
        if (get_once() < 0) {
            failed++;
            return -1;
        }
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Spawn n tasks running fn and join them all. */
static int run_all(long n, loom_task_fn fn)
{
    struct loom_task **t = calloc((size_t)n, sizeof *t);
    if (t == NULL)
        return -1;
    for (long i = 0; i < n; i++)
        if (loom_task_spawn(NULL, fn, NULL, NULL, &t[i]) < 0)
            return -1;
    int rc = 0;
    for (long i = 0; i < n; i++)
        if (loom_task_join(t[i]) < 0)
            rc = -1;
    free(t);
    return rc;
}

static intptr_t warm(void *arg) { return get_once(); }

static long tasks;

static intptr_t main_task(void *arg)
{
    struct loom_http_session_options o = {.limit = (size_t)tasks,
                                          .limit_per_host = (size_t)tasks,
                                          .keepalive_ns = (int64_t)60 * 1000000000};
    if (loom_http_session_new(loom_loop_current(), &o, &session) < 0)
        return -1;
    if (run_all(tasks, warm) < 0) {
        loom_http_session_free(session);
        return -1;
    }
    double t0 = now_s(), c0 = cpu_s();
    int rc = run_all(tasks, worker);
    double t1 = now_s(), c1 = cpu_s();
    long n = tasks * per_task;
    if (rc == 0 && failed == 0)
        printf("requests %ld\nrps %.0f\ncpu_us %.2f\nconnections %zu\n", n, n / (t1 - t0),
               (c1 - c0) * 1e6 / n, loom_http_session_open_count(session));
    loom_http_session_free(session);
    return rc == 0 && failed == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (tasks = atol(argv[2])) < 1 || (per_task = atol(argv[3])) < 1) {
        fprintf(stderr, "usage: http_client_bench URL TASKS GETS_PER_TASK\n");
        return 2;
    }
    url = argv[1];
    return loom_run(main_task, NULL) == 0 ? 0 : 1;
}
