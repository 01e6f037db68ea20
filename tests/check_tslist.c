/* check_tslist.c - the thread-safe int list of the chapter 7 demos
 * (demos/common/tslist.c), hammered by 4 threads x 100,000 operations; listed
 * in TSAN_SUITES so `make tsan` checks it for data races. */
#include "harness/harness.h"

#include <pthread.h>
#include <stdlib.h>

#include "demos/common/tslist.c"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SCALE 4
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define SCALE 4
#endif
#endif
#ifndef SCALE
#define SCALE 1
#endif

enum { THREADS = 4, OPS = 100000 / SCALE };

static struct demo_tslist list;

static void *hammer(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < OPS; i++) {
        ck_assert_int_eq(demo_tslist_append(&list, -(id + 1)), 0);
        if (i % (OPS / 10) == 0) /* now and then: a method calling another under the lock */
            demo_tslist_find_and_replace(&list, -(id + 1), id + 1);
    }
    return NULL;
}

START_TEST(test_tslist_threads)
{
    ck_assert_int_eq(demo_tslist_init(&list, (const int[]){1, 2, 1, 2, 1}, 5), 0);
    demo_tslist_find_and_replace(&list, 1, 2);
    char buf[64];
    demo_tslist_format(&list, buf, sizeof buf);
    ck_assert_str_eq(buf, "[2, 2, 2, 2, 2]");
    demo_tslist_find_and_replace(&list, 2, 0);
    pthread_t t[THREADS];
    for (intptr_t i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, (void *)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_eq(demo_tslist_len(&list), 5 + (size_t)THREADS * OPS);
    for (int id = 0; id < THREADS; id++) {
        size_t neg = demo_tslist_indices_of(&list, -(id + 1), NULL, 0);
        size_t pos = demo_tslist_indices_of(&list, id + 1, NULL, 0);
        ck_assert_uint_eq(neg + pos, OPS);
        ck_assert_uint_gt(pos, 0);
    }
    ck_assert_uint_eq(demo_tslist_indices_of(&list, 0, NULL, 0), 5);
    demo_tslist_close(&list);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tslist");
    TCase *tc = test_tcase(s, "threads", 60);
    tcase_add_test(tc, test_tslist_threads);
    return test_main(s);
}
