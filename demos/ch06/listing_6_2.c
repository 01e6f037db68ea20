/* listing_6_2.c - a process pool with blocking calls (listing 6.2).
 *
 * A pool of one worker process per CPU. loom_pool_apply() sends the function
 * and its input to a worker and suspends until the result comes back, so the
 * two calls run one after the other. Functions are passed by pointer: the
 * workers are forks of this program, so the address means the same there. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_6_2\n"
    "Prints the CPU count, then says hello to Jeff and Mills from pool workers.\n";

static int say_hello(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    char *s = malloc(len + 16);
    if (!s)
        return -ENOMEM;
    out->len = (size_t)sprintf(s, "Hello, %.*s!", (int)len, (const char *)in);
    out->data = s;
    return 0;
}

static intptr_t amain(void *arg)
{
    printf("CPU count: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    struct loom_pool *pool;
    DEMO_CHECK(loom_pool_new(NULL, &pool));
    const char *names[] = {"Jeff", "Mills"};
    for (int i = 0; i < 2; i++) {
        struct loom_bytes hi;
        DEMO_CHECK(loom_pool_apply(pool, say_hello, names[i], strlen(names[i]), &hi, -1));
        printf("%.*s\n", (int)hi.len, (char *)hi.data);
        free(hi.data);
    }
    DEMO_CHECK(loom_pool_shutdown(pool, false));
    loom_pool_free(pool);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
