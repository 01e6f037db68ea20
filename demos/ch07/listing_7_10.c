/* listing_7_10.c - a thread-safe list built on a reentrant lock (listing 7.10).
 *
 * find_and_replace() holds the list's lock and calls indices_of(), which
 * takes the same lock again: that only works because the lock is recursive.
 * Four threads replace 1 with 2 concurrently; the list ends as [2, 2, 2, 2, 2]. */
#include <pthread.h>
#include <stdio.h>

#include "demo.h"
#include "tslist.h"

static const char usage[] =
    "usage: listing_7_10\n"
    "Four threads run find_and_replace(1, 2) on a thread-safe list [1, 2, 1, 2, 1] whose\n"
    "methods share one recursive lock; prints the final list [2, 2, 2, 2, 2].\n";

static struct demo_tslist threadsafe_list;

static void *replace_ones(void *arg)
{
    demo_tslist_find_and_replace(&threadsafe_list, 1, 2);
    return NULL;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(demo_tslist_init(&threadsafe_list, (const int[]){1, 2, 1, 2, 1}, 5));
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        DEMO_CHECK(-pthread_create(&threads[i], NULL, replace_ones, NULL));
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    char buf[256];
    demo_tslist_format(&threadsafe_list, buf, sizeof buf);
    printf("%s\n", buf);
    demo_tslist_close(&threadsafe_list);
    return 0;
}
