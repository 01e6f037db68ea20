/* listing_5_5.c - insert 100 random brands in one batch (listing 5.5).
 *
 * loom_pg_executemany() is asyncpg's executemany: the INSERT is parsed once
 * and its 100 executions are pipelined (libpq pipeline mode), so the batch
 * costs one round trip instead of 100. The row callback hands each row's
 * parameters over as the pipeline is filled. As in the book, names are the
 * first 100 words of common_words.txt, shuffled and capitalised, and keep the
 * newline they were read with (a quirk of readlines()). */
#include <stdio.h>
#include <string.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: listing_5_5 [--dsn CONNINFO] [--words FILE] [--seed N]\n"
    "Inserts 100 brands named after the first 100 words of FILE (default\n"
    "demos/ch05/common_words.txt), shuffled (seeded by --seed, default 42).\n";

static char words[100][32];

static uint64_t rng;
static uint64_t next_rand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static int brand_row(void *arg, size_t i, const char **params)
{
    params[0] = words[i];
    return 0;
}

static intptr_t main_task(void *arg)
{
    FILE *f = fopen(demo_arg_str("--words", "demos/ch05/common_words.txt"), "r");
    if (!f) {
        perror("common_words.txt");
        return -1;
    }
    int n = 0;
    while (n < 100 && fgets(words[n], sizeof words[n], f))
        n++; /* fgets keeps the '\n', as readlines() does */
    fclose(f);
    rng = (uint64_t)demo_arg_long("--seed", 42) * 2654435761u + 1;
    for (int i = n - 1; i > 0; i--) { /* Fisher-Yates, as random.shuffle */
        int j = (int)(next_rand() % (uint64_t)(i + 1));
        char t[32];
        memcpy(t, words[i], 32), memcpy(words[i], words[j], 32), memcpy(words[j], t, 32);
    }
    for (int i = 0; i < n; i++)
        words[i][0] =
            (char)(words[i][0] >= 'a' && words[i][0] <= 'z' ? words[i][0] - 32 : words[i][0]);
    struct loom_pg c;
    ch05_connect(&c, ch05_dsn());
    ssize_t rows = loom_pg_executemany(&c, "INSERT INTO brand VALUES(DEFAULT, $1)", 1, (size_t)n,
                                       brand_row, NULL);
    CH05_CHECK(&c, rows);
    printf("Inserted %zd brands in one executemany\n", rows);
    loom_pg_close(&c);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
