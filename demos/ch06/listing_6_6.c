/* listing_6_6.c - MapReduce in one process (listing 6.6).
 *
 * Map: each line becomes a word -> count table (split on single spaces,
 * case-sensitive). Reduce: the tables are merged pairwise, left to right
 * (functools.reduce). Tables print in insertion order, as Python dicts do. */
#include <stdio.h>
#include <string.h>

#include "demo.h"

static const char usage[] =
    "usage: listing_6_6\n"
    "Maps four sentences to word counts, prints each, then prints the merged counts.\n";

enum { MAXW = 32 };

struct table {
    char word[MAXW][32];
    int count[MAXW];
    int n;
};

static void add(struct table *t, const char *w, int c)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->word[i], w) == 0) {
            t->count[i] += c;
            return;
        }
    if (t->n < MAXW) {
        snprintf(t->word[t->n], sizeof(t->word[0]), "%s", w);
        t->count[t->n++] = c;
    }
}

static void map_frequency(const char *text, struct table *t)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", text);
    t->n = 0;
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
        add(t, w, 1);
}

/* merged = first; then every key of second is added in. */
static void merge_dictionaries(struct table *first, const struct table *second)
{
    for (int i = 0; i < second->n; i++)
        add(first, second->word[i], second->count[i]);
}

static void print_table(const struct table *t)
{
    printf("{");
    for (int i = 0; i < t->n; i++) {
        const char *q = strchr(t->word[i], '\'') ? "\"" : "'";
        printf("%s%s%s%s: %d", i ? ", " : "", q, t->word[i], q, t->count[i]);
    }
    printf("}\n");
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    const char *lines[] = {"I know what I know", "I know that I know", "I don't know much",
                           "They don't know much"};
    struct table mapped[4];
    for (int i = 0; i < 4; i++)
        map_frequency(lines[i], &mapped[i]);
    for (int i = 0; i < 4; i++)
        print_table(&mapped[i]);
    struct table reduced = mapped[0];
    for (int i = 1; i < 4; i++)
        merge_dictionaries(&reduced, &mapped[i]);
    print_table(&reduced);
    return 0;
}
