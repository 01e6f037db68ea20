/* listing_7_9.c - a reentrant lock (listing 7.9).
 *
 * sum_list() takes the lock and calls itself on the tail while holding it.
 * With a recursive mutex (Python's RLock) the same thread may take it again:
 * summing [1, 2, 3, 4] acquires it five times. With a plain mutex the second
 * acquire would wait for itself forever; a timed lock shows that deadlock. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_7_9\n"
    "Sums [1, 2, 3, 4] recursively in a thread under a recursive lock (5 \"Lock acquired.\"\n"
    "lines), then shows a plain lock deadlocking (its second acquire times out after 0.5 s).\n";

static pthread_mutex_t list_lock;
static bool plain; /* list_lock is a plain mutex: use a timed lock */

static int lock(void)
{
    if (!plain)
        return pthread_mutex_lock(&list_lock);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 500000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return pthread_mutex_timedlock(&list_lock, &ts);
}

static long sum_list(const int *list, int n)
{
    printf("Waiting to acquire lock...\n");
    int rc = lock();
    if (rc != 0) {
        printf("Could not acquire lock: %s (the thread would wait for itself forever)\n",
               rc == ETIMEDOUT ? "timed out" : "error");
        return -1;
    }
    printf("Lock acquired.\n");
    long sum = 0;
    if (n == 0) {
        printf("Finished summing.\n");
    } else {
        printf("Summing rest of list.\n");
        long rest = sum_list(list + 1, n - 1);
        sum = rest < 0 ? rest : list[0] + rest;
    }
    pthread_mutex_unlock(&list_lock);
    return sum;
}

static void *run(void *arg)
{
    static const int list[] = {1, 2, 3, 4};
    printf("Sum: %ld\n", sum_list(list, 4));
    return NULL;
}

static void sum_in_thread(int type)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, type);
    pthread_mutex_init(&list_lock, &attr);
    pthread_mutexattr_destroy(&attr);
    pthread_t thread;
    DEMO_CHECK(-pthread_create(&thread, NULL, run, NULL));
    pthread_join(thread, NULL);
    pthread_mutex_destroy(&list_lock);
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    printf("With a recursive lock (RLock):\n");
    sum_in_thread(PTHREAD_MUTEX_RECURSIVE);
    /* A plain mutex taken again by its owner waits for itself; the timed lock
     * bounds that wait so the demo can report it. */
    plain = true;
    printf("With a plain lock (Lock):\n");
    sum_in_thread(PTHREAD_MUTEX_NORMAL);
    return 0;
}
