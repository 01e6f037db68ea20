/* tslist.c - the thread-safe int list of listing 7.10 (see tslist.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tslist.h"

int demo_tslist_init(struct demo_tslist *l, const int *items, size_t n)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&l->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    l->len = l->cap = 0;
    l->items = NULL;
    for (size_t i = 0; i < n; i++)
        if (demo_tslist_append(l, items[i]) < 0) {
            demo_tslist_close(l);
            return -ENOMEM;
        }
    return 0;
}

void demo_tslist_close(struct demo_tslist *l)
{
    free(l->items);
    l->items = NULL;
    pthread_mutex_destroy(&l->lock);
}

int demo_tslist_append(struct demo_tslist *l, int v)
{
    int rc = 0;
    pthread_mutex_lock(&l->lock);
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        int *p = realloc(l->items, cap * sizeof(*p));
        if (p) {
            l->items = p;
            l->cap = cap;
        } else {
            rc = -ENOMEM;
        }
    }
    if (rc == 0)
        l->items[l->len++] = v;
    pthread_mutex_unlock(&l->lock);
    return rc;
}

size_t demo_tslist_indices_of(struct demo_tslist *l, int v, size_t *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->len; i++)
        if (l->items[i] == v) {
            if (n < max)
                out[n] = i;
            n++;
        }
    pthread_mutex_unlock(&l->lock);
    return n;
}

size_t demo_tslist_find_and_replace(struct demo_tslist *l, int from, int to)
{
    pthread_mutex_lock(&l->lock);
    size_t n = demo_tslist_indices_of(l, from, NULL, 0); /* the lock again: recursive */
    size_t *idx = n ? malloc(n * sizeof(*idx)) : NULL;
    if (idx) {
        demo_tslist_indices_of(l, from, idx, n);
        for (size_t i = 0; i < n; i++)
            l->items[idx[i]] = to;
        free(idx);
    } else {
        n = 0;
    }
    pthread_mutex_unlock(&l->lock);
    return n;
}

size_t demo_tslist_len(struct demo_tslist *l)
{
    pthread_mutex_lock(&l->lock);
    size_t n = l->len;
    pthread_mutex_unlock(&l->lock);
    return n;
}

void demo_tslist_format(struct demo_tslist *l, char *buf, size_t len)
{
    pthread_mutex_lock(&l->lock);
    size_t off = (size_t)snprintf(buf, len, "[");
    for (size_t i = 0; i < l->len && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%d", i ? ", " : "", l->items[i]);
    if (off < len)
        snprintf(buf + off, len - off, "]");
    pthread_mutex_unlock(&l->lock);
}
