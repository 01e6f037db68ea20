/* listing_5_6.c - 1,000 random products and 100,000 SKUs (listing 5.6).
 *
 * Two loom_pg_executemany() calls: each pipelines its INSERTs (one Parse, then
 * Bind/Execute per row, one Sync), so 100,000 rows take about as many round
 * trips as there are 256-row batches on the wire, not 100,000. Product names
 * are 10 distinct random words of common_words.txt, capitalised; brands are
 * 1-100, SKUs pick product 1-1000, size 1-3, color 1-2. --seed makes it
 * repeatable. */
#include <stdio.h>
#include <string.h>

#include "ch05.h"
#include "db/pg.h"
#include "reactor/task.h"

static const char usage[] = "usage: listing_5_6 [--dsn CONNINFO] [--words FILE] [--seed N]\n"
                            "Inserts 1,000 products and 100,000 SKUs with random names and ids\n"
                            "(seeded by --seed, default 42) and prints how long each batch took.\n";

static char words[1000][16];
static int nwords;
static uint64_t rng;

static uint64_t next_rand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static int pick(int lo, int hi) { return lo + (int)(next_rand() % (uint64_t)(hi - lo + 1)); }

static char bufs[3][160];

static bool taken(const int *used, int n, int w)
{
    for (int j = 0; j < n; j++)
        if (used[j] == w)
            return true;
    return false;
}

static int product_row(void *arg, size_t i, const char **params)
{
    int used[10];
    bufs[0][0] = 0;
    for (int k = 0; k < 10; k++) { /* 10 distinct words, as random.sample */
        int w = pick(0, nwords - 1);
        while (taken(used, k, w))
            w = pick(0, nwords - 1);
        used[k] = w;
        char word[16];
        snprintf(word, sizeof word, "%s", words[w]);
        if (word[0] >= 'a' && word[0] <= 'z')
            word[0] = (char)(word[0] - 32);
        strcat(bufs[0], k ? " " : ""), strcat(bufs[0], word);
    }
    snprintf(bufs[1], sizeof bufs[1], "%d", pick(1, 100));
    params[0] = bufs[0];
    params[1] = bufs[1];
    return 0;
}

static int sku_row(void *arg, size_t i, const char **params)
{
    snprintf(bufs[0], sizeof bufs[0], "%d", pick(1, 1000));
    snprintf(bufs[1], sizeof bufs[1], "%d", pick(1, 3));
    snprintf(bufs[2], sizeof bufs[2], "%d", pick(1, 2));
    for (int k = 0; k < 3; k++)
        params[k] = bufs[k];
    return 0;
}

static intptr_t main_task(void *arg)
{
    FILE *f = fopen(demo_arg_str("--words", "demos/ch05/common_words.txt"), "r");
    if (!f) {
        perror("common_words.txt");
        return -1;
    }
    while (nwords < 1000 && fscanf(f, "%15s", words[nwords]) == 1)
        nwords++;
    fclose(f);
    rng = (uint64_t)demo_arg_long("--seed", 42) * 2654435761u + 7;
    struct loom_pg c;
    ch05_connect(&c, ch05_dsn());
    double t0 = demo_now();
    ssize_t n = loom_pg_executemany(&c, "INSERT INTO product VALUES(DEFAULT, $1, $2)", 2, 1000,
                                    product_row, NULL);
    CH05_CHECK(&c, n);
    printf("Inserted %zd products in %.3f sec\n", n, demo_now() - t0);
    t0 = demo_now();
    n = loom_pg_executemany(&c, "INSERT INTO sku VALUES(DEFAULT, $1, $2, $3)", 3, 100000, sku_row,
                            NULL);
    CH05_CHECK(&c, n);
    printf("Inserted %zd skus in %.3f sec\n", n, demo_now() - t0);
    loom_pg_close(&c);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    DEMO_CHECK(loom_run(main_task, NULL));
    return 0;
}
