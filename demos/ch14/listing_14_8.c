/* listing_14_8.c - a future from scratch (listing 14.8, driven as in 14.9).
 *
 * CustomFuture holds a result, a finished flag and one done callback that
 * set_result() calls. "Awaiting" it is one step of a generator: while it is
 * not finished the step yields the future itself (telling whoever drives the
 * coroutine what it waits for); once finished the step returns the result.
 * main drives that step by hand, setting the value on the second pass. */
#include <stdbool.h>
#include <stdio.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_14_8\n"
    "Builds a minimal future with one done callback and awaits it by hand: \"Checking\n"
    "future...\" / \"Future is not done...\" twice, the value is set, then \"Value is:\n"
    "Finished!\" (the done callback reports it too).\n";

struct custom_future {
    const char *result;
    bool is_finished;
    void (*done_callback)(const char *result);
};

static void custom_future_init(struct custom_future *f)
{
    *f = (struct custom_future){NULL, false, NULL};
}

static const char *custom_future_result(const struct custom_future *f) { return f->result; }
static bool custom_future_is_finished(const struct custom_future *f) { return f->is_finished; }

static void custom_future_set_result(struct custom_future *f, const char *result)
{
    f->result = result;
    f->is_finished = true;
    if (f->done_callback)
        f->done_callback(result);
}

static void custom_future_add_done_callback(struct custom_future *f, void (*fn)(const char *))
{
    f->done_callback = fn;
}

/* __await__ as one generator step: true and *value when finished (StopIteration
 * carrying the result); false and *yielded = f while still pending (yield self). */
static bool custom_future_await(struct custom_future *f, struct custom_future **yielded,
                                const char **value)
{
    if (!custom_future_is_finished(f)) {
        *yielded = f;
        return false;
    }
    *value = custom_future_result(f);
    return true;
}

static void on_done(const char *result) { printf("Done callback called with: %s\n", result); }

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct custom_future future;
    custom_future_init(&future);
    custom_future_add_done_callback(&future, on_done);

    for (int i = 0;; i++) {
        struct custom_future *yielded;
        const char *value;
        printf("Checking future...\n");
        if (custom_future_await(&future, &yielded, &value)) {
            printf("Value is: %s\n", value);
            break;
        }
        printf("Future is not done... (the step yielded %s)\n",
               yielded == &future ? "the future itself" : "something else");
        if (i == 1) {
            printf("Setting future value...\n");
            custom_future_set_result(&future, "Finished!");
        }
    }
    return 0;
}
