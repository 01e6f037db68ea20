/* listing_6_8.c - MapReduce with a process pool (listing 6.8).
 *
 * The file is cut into chunks of 50,000 lines; each chunk is mapped to a word
 * count table in a pool worker (the job names the chunk by offset and length
 * in the mapped file, which the forked workers share; the table comes back
 * as "word TAB count" text), and the parent reduces by merging the tables. The same job is timed
 * with a 1-worker pool first, to print the speed-up the extra cores give. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo.h"
#include "freq.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_6_8 [--file FILE | --mb N] [--lines L] [--workers W] [--no-baseline]\n"
    "Maps chunks of L lines (default 50000) of the ngram file in a W-process pool\n"
    "(default: one per CPU), reduces in the parent, prints the top words, the time and\n"
    "the speed-up over a 1-worker pool (skipped with --no-baseline).\n";

/* A chunk travels as (offset, length) into the file: the workers are forks
 * made after the file was mapped, so they read the same pages (no copy). */
struct chunk {
    size_t off, len;
};

static const struct ngram_file *input;

static int map_frequencies(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    struct chunk c;
    if (len != sizeof(c))
        return -EINVAL;
    memcpy(&c, in, sizeof(c));
    struct freq f;
    freq_init(&f);
    int rc = freq_ngram(&f, input->data + c.off, c.len);
    char *text = NULL;
    if (rc == 0 && (rc = freq_dump(&f, &text, &out->len)) == 0)
        out->data = text;
    freq_free(&f);
    return rc;
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
    for (size_t i = 0; i < n; i++) {
        struct chunk c = {(size_t)(start[i] - in->data), length[i]};
        DEMO_CHECK(loom_pool_submit(pool, map_frequencies, &c, sizeof(c), &jobs[i]));
    }
    freq_init(result);
    for (size_t i = 0; i < n; i++) { /* reduce in the parent, in order */
        DEMO_CHECK(loom_pool_job_wait(jobs[i], -1));
        size_t len;
        const char *text = loom_pool_job_result(jobs[i], &len);
        DEMO_CHECK(freq_load(result, text, len));
        loom_pool_job_free(jobs[i]);
    }
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
    input = &in;
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
