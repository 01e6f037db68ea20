/* listing_6_4.c - an ordered map over a process pool (listing 6.4).
 *
 * loom_pool_map() runs count() on each number in the workers. The small
 * counts finish first and their workers print "Finished counting" at once,
 * while one worker is still busy with the big count; the results still come
 * back in input order. (The book's 100000000 is sized here to take ~2 s of C.) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_6_4\n"
    "Maps count() over [BIG, 1, 3, 5, 22] in a process pool (BIG takes ~2 s, scaled);\n"
    "workers print as they finish, results print in input order.\n";

static int count(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    char text[32]; /* the input is bytes, not a C string */
    snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)in);
    long count_to = strtol(text, NULL, 10);
    double start = demo_now();
    long counter = demo_count_to(count_to);
    printf("Finished counting to %ld in %.4f s\n", count_to, demo_now() - start);
    char *s = malloc(32);
    if (!s)
        return -ENOMEM;
    out->len = (size_t)sprintf(s, "%ld", counter);
    out->data = s;
    return 0;
}

static intptr_t amain(void *arg)
{
    struct loom_pool *pool;
    DEMO_CHECK(loom_pool_new(NULL, &pool));
    long numbers[] = {demo_cpu_count(2.0), 1, 3, 5, 22};
    enum { N = sizeof(numbers) / sizeof(numbers[0]) };
    char text[N][32];
    struct loom_bytes ins[N], outs[N];
    for (int i = 0; i < N; i++) {
        ins[i].len = (size_t)snprintf(text[i], sizeof(text[i]), "%ld", numbers[i]);
        ins[i].data = text[i];
    }
    DEMO_CHECK(loom_pool_map(pool, count, ins, N, 1, outs));
    for (int i = 0; i < N; i++) {
        printf("%s\n", (char *)outs[i].data);
        free(outs[i].data);
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
