/* listing_14_5.c - a stackless, generator-style coroutine (listing 14.5).
 *
 * The book's @asyncio.coroutine / "yield from" coroutines (gone since Python
 * 3.11) kept their state in a generator frame. The C equivalent is a state
 * machine: a struct holds the resume point and locals, and a switch jumps back
 * in after each "yield" (Duff's device, as in protothreads). It runs on the
 * same reactor as stackful tasks - a timer resumes it - and needs no stack of
 * its own. Here two stackless coroutines sleep next to one stackful task. */
#include <stdio.h>

#include "demo.h"
#include "reactor/loop.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_14_5\n"
    "Runs two stackless state-machine coroutines (\"Sleeping!\", then \"Finished!\" 1 s\n"
    "later, scaled) beside a stackful task on the same loop; all finish in about 1 s.\n";

/* A stackless coroutine: the resume point and its "locals". */
struct coroutine {
    int state; /* 0: not started; else the __LINE__ to resume at; -1: done */
    int id;
    struct loom_timer timer; /* what it waits for while suspended */
};

#define CORO_BEGIN(c)                                                                              \
    switch ((c)->state) {                                                                          \
    case 0:
#define CORO_END(c)                                                                                \
    }                                                                                              \
    (c)->state = -1
/* yield from asyncio.sleep(ns): arm the timer, return to the loop, resume here. */
#define CORO_SLEEP(c, ns)                                                                          \
    do {                                                                                           \
        (c)->state = __LINE__;                                                                     \
        loom_timer_start(&(c)->timer, (ns));                                                       \
        return;                                                                                    \
    case __LINE__:;                                                                                \
    } while (0)

static void coroutine(struct coroutine *c)
{
    CORO_BEGIN(c);
    printf("stackless %d: Sleeping!\n", c->id);
    CORO_SLEEP(c, demo_sec(1));
    printf("stackless %d: Finished!\n", c->id);
    CORO_END(c);
}

/* The reactor resumes the coroutine from its timer. */
static void resume(struct loom_timer *t) { coroutine(t->data); }

static void coroutine_start(struct loom_loop *loop, struct coroutine *c, int id)
{
    *c = (struct coroutine){.state = 0, .id = id};
    loom_timer_init(loop, &c->timer, resume);
    c->timer.data = c;
    coroutine(c); /* runs up to its first suspension */
}

static intptr_t stackful(void *arg)
{
    printf("stackful: Sleeping!\n");
    int rc = loom_sleep(demo_sec(1));
    if (rc < 0)
        return rc;
    printf("stackful: Finished!\n");
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct loom_loop *loop;
    DEMO_CHECK(loom_loop_new(&loop, NULL));
    struct coroutine coros[2];
    double start = demo_now();
    for (int i = 0; i < 2; i++)
        coroutine_start(loop, &coros[i], i + 1);
    struct loom_task *t;
    DEMO_CHECK(loom_task_spawn(loop, stackful, NULL, NULL, &t));
    DEMO_CHECK(loom_loop_run_until_complete(loop, t));
    DEMO_CHECK(loom_loop_run(loop, LOOM_RUN_DEFAULT)); /* until the timers are done too */
    printf("states: %d %d (-1 = done); total %.4f sec.\n", coros[0].state, coros[1].state,
           demo_now() - start);
    DEMO_CHECK(loom_loop_free(loop));
    return 0;
}
