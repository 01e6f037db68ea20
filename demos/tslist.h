/* tslist.h - a thread-safe list of ints for the chapter 7 demos (listing 7.10).
 *
 * Every method takes one recursive mutex (Python's RLock), so a method may
 * call another one while holding it: find_and_replace() calls indices_of(). */
#ifndef LOOM_DEMOS_TSLIST_H
#define LOOM_DEMOS_TSLIST_H

#include <pthread.h>
#include <stddef.h>

struct demo_tslist {
    pthread_mutex_t lock; /* recursive */
    int *items;
    size_t len, cap;
};

/* Copy n items in. 0 or -ENOMEM. */
int demo_tslist_init(struct demo_tslist *l, const int *items, size_t n);
void demo_tslist_close(struct demo_tslist *l);
/* Append v. 0 or -ENOMEM. */
int demo_tslist_append(struct demo_tslist *l, int v);
/* Write the indices of v (up to max) to out; returns how many there are. */
size_t demo_tslist_indices_of(struct demo_tslist *l, int v, size_t *out, size_t max);
/* Replace every `from` with `to`; returns how many were replaced. */
size_t demo_tslist_find_and_replace(struct demo_tslist *l, int from, int to);
size_t demo_tslist_len(struct demo_tslist *l);
/* Format as "[1, 2, 3]" into buf. */
void demo_tslist_format(struct demo_tslist *l, char *buf, size_t len);

#endif
