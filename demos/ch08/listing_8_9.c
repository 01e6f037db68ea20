/* listing_8_9.c - a bounded message store with an awaitable redraw (listing 8.9).
 *
 * The TUIs keep the last screenful of messages in a bounded deque: appending to
 * a full store drops the oldest. After every append the store calls a redraw
 * callback and waits for it - the callback may suspend (here it yields to the
 * loop before drawing, as a real redraw waits for the terminal). Two producer
 * tasks append at once to show that each append awaits its own redraw. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_8_9 [--size N]\n"
    "A message store of N entries (default 3). Two tasks append 4 messages each; every\n"
    "append awaits the redraw callback, which prints the store's current contents.\n";

struct message_store;
/* An awaitable callback: may suspend; 0 or a negative error. */
typedef int (*message_store_cb)(struct message_store *store);

struct message_store {
    char *items[64];         /* ring buffer of owned strings */
    size_t max, head, count; /* capacity (<= 64), index of the oldest, how many */
    message_store_cb callback;
};

static void message_store_init(struct message_store *m, size_t max, message_store_cb cb)
{
    *m = (struct message_store){.max = max < 1 ? 1 : max > 64 ? 64 : max, .callback = cb};
}

/* The i-th message, oldest first. */
static const char *message_store_get(const struct message_store *m, size_t i)
{
    return m->items[(m->head + i) % m->max];
}

/* append(): add a copy of item (dropping the oldest if full), then await the
 * callback. Returns 0, -ENOMEM, or the callback's error. Suspends. */
static int message_store_append(struct message_store *m, const char *item)
{
    char *copy = strdup(item);
    if (!copy)
        return -ENOMEM;
    if (m->count == m->max) { /* deque(maxlen=...) drops from the left */
        free(m->items[m->head]);
        m->head = (m->head + 1) % m->max;
        m->count--;
    }
    m->items[(m->head + m->count++) % m->max] = copy;
    return m->callback(m);
}

static void message_store_close(struct message_store *m)
{
    for (size_t i = 0; i < m->count; i++)
        free(m->items[(m->head + i) % m->max]);
    m->count = 0;
}

static int redraw(struct message_store *m)
{
    int rc = loom_yield(); /* a redraw may suspend: the other producer runs meanwhile */
    if (rc < 0)
        return rc;
    printf("redraw:");
    for (size_t i = 0; i < m->count; i++)
        printf(" [%s]", message_store_get(m, i));
    printf("\n");
    return 0;
}

static struct message_store store;

static intptr_t producer(void *arg)
{
    const char *name = arg;
    char msg[64];
    for (int i = 1; i <= 4; i++) {
        snprintf(msg, sizeof msg, "%s %d", name, i);
        printf("%s appends \"%s\"\n", name, msg);
        int rc = message_store_append(&store, msg);
        if (rc < 0)
            return rc;
        printf("%s: append of \"%s\" returned after its redraw\n", name, msg);
    }
    return 0;
}

static intptr_t main_task(void *arg)
{
    message_store_init(&store, (size_t)demo_arg_long("--size", 3), redraw);
    struct loom_task *t[2] = {loom_spawn(producer, "A", "A"), loom_spawn(producer, "B", "B")};
    if (!t[0] || !t[1])
        return -ENOMEM;
    int rc = loom_gather(t, 2, NULL, 0);
    printf("final contents (%zu of %zu slots):", store.count, store.max);
    for (size_t i = 0; i < store.count; i++)
        printf(" [%s]", message_store_get(&store, i));
    printf("\n");
    message_store_close(&store);
    return rc;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
