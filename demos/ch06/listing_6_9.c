/* listing_6_9.c - parallel reduce (listing 6.9).
 *
 * Map as in 6.8; then the reduce runs in the pool too: the partial tables are
 * merged in groups of 500 (one pool job per group: their texts concatenated
 * load as the merge), again and again until one table is left. The parent
 * only shuffles bytes. Timed with a 1-worker pool first for the speed-up. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "freq.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_6_9 [--file FILE | --mb N] [--lines L] [--group G] [--workers W]\n"
    "       [--no-baseline]\n"
    "Maps chunks of L lines (default 50000) of the ngram file in a W-process pool\n"
    "(default: one per CPU), reduces in groups of G (default 500) in the pool, prints\n"
    "the top words, the time and the speed-up over a 1-worker pool (skipped with\n"
    "--no-baseline).\n";

static int map_frequencies(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    struct freq f;
    freq_init(&f);
    int rc = freq_ngram(&f, in, len);
    char *text = NULL;
    if (rc == 0 && (rc = freq_dump(&f, &text, &out->len)) == 0)
        out->data = text;
    freq_free(&f);
    return rc;
}

static int merge(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    struct freq f;
    freq_init(&f);
    int rc = freq_load(&f, in, len);
    char *text = NULL;
    if (rc == 0 && (rc = freq_dump(&f, &text, &out->len)) == 0)
        out->data = text;
    freq_free(&f);
    return rc;
}

/* Merge the n texts in groups of g in the pool until one is left; returns it. */
static struct loom_bytes reduce(struct loom_pool *pool, struct loom_bytes *parts, size_t n)
{
    size_t g = (size_t)demo_arg_long("--group", 500);
    g = g < 2 ? 2 : g;
    while (n > 1) {
        size_t groups = (n + g - 1) / g;
        struct loom_pool_job **jobs = calloc(groups, sizeof(*jobs));
        for (size_t k = 0; k < groups; k++) {
            size_t total = 0, first = k * g, last = first + g < n ? first + g : n;
            for (size_t i = first; i < last; i++)
                total += parts[i].len;
            char *cat = malloc(total + 1), *p = cat;
            for (size_t i = first; i < last; p += parts[i].len, free(parts[i].data), i++)
                memcpy(p, parts[i].data, parts[i].len);
            DEMO_CHECK(loom_pool_submit(pool, merge, cat, total, &jobs[k]));
            free(cat);
        }
        for (size_t k = 0; k < groups; k++) {
            DEMO_CHECK(loom_pool_job_wait(jobs[k], -1));
            parts[k] = loom_pool_job_take(jobs[k]);
            loom_pool_job_free(jobs[k]);
        }
        printf("  reduced %zu tables to %zu\n", n, groups);
        free(jobs);
        n = groups;
    }
    return parts[0];
}

static double map_reduce(const struct ngram_file *in, unsigned workers, struct freq *result)
{
    size_t lines = (size_t)demo_arg_long("--lines", 50000);
    size_t n = ngram_chunks(in->data, in->len, lines, NULL, NULL, 0);
    const char **start = calloc(n, sizeof(*start));
    size_t *length = calloc(n, sizeof(*length));
    struct loom_pool_job **jobs = calloc(n, sizeof(*jobs));
    ngram_chunks(in->data, in->len, lines, start, length, n);
    double t0 = demo_now();
    struct loom_pool_options opt = {.workers = workers};
    struct loom_pool *pool;
    DEMO_CHECK(loom_pool_new(&opt, &pool));
    for (size_t i = 0; i < n; i++)
        DEMO_CHECK(loom_pool_submit(pool, map_frequencies, start[i], length[i], &jobs[i]));
    struct loom_bytes *parts = calloc(n, sizeof(*parts));
    for (size_t i = 0; i < n; i++) {
        DEMO_CHECK(loom_pool_job_wait(jobs[i], -1));
        parts[i] = loom_pool_job_take(jobs[i]);
        loom_pool_job_free(jobs[i]);
    }
    struct loom_bytes all = reduce(pool, parts, n);
    freq_init(result);
    DEMO_CHECK(freq_load(result, all.data, all.len));
    free(all.data);
    free(parts);
    DEMO_CHECK(loom_pool_shutdown(pool, false));
    loom_pool_free(pool);
    double t = demo_now() - t0;
    printf("%u worker%s, %zu chunks: MapReduce time: %.4f s\n", workers, workers == 1 ? "" : "s", n,
           t);
    free(start);
    free(length);
    free(jobs);
    return t;
}

static intptr_t amain(void *arg)
{
    struct ngram_file in;
    DEMO_CHECK(ngram_open(&in));
    long cpus = demo_arg_long("--workers", sysconf(_SC_NPROCESSORS_ONLN));
    struct freq f;
    double base = 0;
    if (!demo_arg_flag("--no-baseline")) {
        base = map_reduce(&in, 1, &f);
        freq_free(&f);
    }
    double t = map_reduce(&in, (unsigned)cpus, &f);
    const struct freq_ent *top[5];
    size_t k = freq_top(&f, top, 5);
    for (size_t i = 0; i < k; i++)
        printf("  %-12s %lld\n", top[i]->word, (long long)top[i]->count);
    printf("Distinct words: %zu; Aardvark: %lld\n", f.n, (long long)freq_get(&f, "Aardvark"));
    if (base > 0)
        printf("Speed-up over one worker: %.2fx with %ld workers\n", base / t, cpus);
    freq_free(&f);
    ngram_close(&in);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
