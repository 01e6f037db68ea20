/* listing_6_14.c - progress from pool workers through shared memory (listing 6.14).
 *
 * MapReduce as in 6.8, and every worker bumps a shared counter (under its
 * lock) when it finishes a chunk. A reporter task on the loop reads the
 * counter every 0.5 s and shows "Reduce operations complete: X of N": as a
 * bar redrawn in place on a terminal, as plain lines otherwise. Then the
 * merged total for 'Aardvark'. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "demo.h"
#include "freq.h"
#include "proc/proc.h"

static const char usage[] =
    "usage: listing_6_14 [--file FILE | --mb N] [--lines L]\n"
    "Maps chunks of L lines (default 50000) of the ngram file in a process pool while a\n"
    "task reports the shared progress counter every 0.5 s (scaled); prints Aardvark's total.\n";

static struct loom_shared *map_progress;

static int init(void *arg, void **state)
{
    *state = arg;
    return 0;
}

static int map_frequencies(const void *in, size_t len, struct loom_bytes *out, void *state)
{
    struct freq f;
    freq_init(&f);
    int rc = freq_ngram(&f, in, len);
    char *text = NULL;
    if (rc == 0 && (rc = freq_dump(&f, &text, &out->len)) == 0)
        out->data = text;
    freq_free(&f);
    struct loom_shared *progress = state;
    loom_shared_lock(progress);
    ++*(long *)loom_shared_data(progress);
    loom_shared_unlock(progress);
    return rc;
}

static long progress_value(void)
{
    loom_shared_lock(map_progress);
    long v = *(long *)loom_shared_data(map_progress);
    loom_shared_unlock(map_progress);
    return v;
}

static void show(long done, long total, bool tty)
{
    if (!tty) {
        printf("Reduce operations complete: %ld of %ld\n", done, total);
        return;
    }
    char bar[41];
    int fill = total ? (int)(40 * done / total) : 40;
    for (int i = 0; i < 40; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[40] = '\0';
    printf("\r[%s] Reduce operations complete: %ld of %ld", bar, done, total);
    fflush(stdout);
}

static intptr_t progress_reporter(void *arg)
{
    long total = (long)(intptr_t)arg;
    bool tty = isatty(STDOUT_FILENO);
    long done;
    while ((done = progress_value()) < total) {
        show(done, total, tty);
        int rc = loom_sleep(demo_sec(0.5));
        if (rc < 0)
            return rc;
    }
    show(done, total, tty);
    if (tty)
        printf("\n");
    return 0;
}

static intptr_t amain(void *arg)
{
    struct ngram_file in;
    DEMO_CHECK(ngram_open(&in));
    size_t lines = (size_t)demo_arg_long("--lines", 50000);
    size_t n = ngram_chunks(in.data, in.len, lines, NULL, NULL, 0);
    const char **start = calloc(n, sizeof(*start));
    size_t *length = calloc(n, sizeof(*length));
    struct loom_pool_job **jobs = calloc(n, sizeof(*jobs));
    ngram_chunks(in.data, in.len, lines, start, length, n);
    DEMO_CHECK(loom_shared_new(sizeof(long), &map_progress));
    struct loom_pool_options opt = {.init = init, .init_arg = map_progress};
    struct loom_pool *pool;
    DEMO_CHECK(loom_pool_new(&opt, &pool));
    struct loom_task *reporter = loom_spawn(progress_reporter, (void *)(intptr_t)n, "reporter");
    for (size_t i = 0; i < n; i++)
        DEMO_CHECK(loom_pool_submit(pool, map_frequencies, start[i], length[i], &jobs[i]));
    struct freq result;
    freq_init(&result);
    for (size_t i = 0; i < n; i++) {
        DEMO_CHECK(loom_pool_job_wait(jobs[i], -1));
        size_t len;
        const char *text = loom_pool_job_result(jobs[i], &len);
        DEMO_CHECK(freq_load(&result, text, len));
        loom_pool_job_free(jobs[i]);
    }
    DEMO_CHECK(loom_task_join(reporter));
    printf("Aardvark has appeared %lld times.\n", (long long)freq_get(&result, "Aardvark"));
    DEMO_CHECK(loom_pool_shutdown(pool, false));
    loom_pool_free(pool);
    loom_shared_free(map_progress);
    freq_free(&result);
    free(start);
    free(length);
    free(jobs);
    ngram_close(&in);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
