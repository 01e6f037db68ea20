/* ngram_gen.c - generate a Google Books Ngram 1-gram file (input of 6.7-6.9, 6.14).
 *
 * The book reads googlebooks-eng-all-1gram-20120701-a: one line per (word,
 * year), "ngram TAB year TAB match_count TAB volume_count", sorted by word, all
 * words starting with 'a'/'A'. This writes a file of that shape from a seeded
 * generator: same seed and size, same bytes. "Aardvark" comes first with known
 * counts. At the end it prints what a correct MapReduce must find: the line
 * count, the distinct words and Aardvark's total. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

static const char usage[] =
    "usage: ngram_gen [--out FILE] [--mb N] [--seed S]\n"
    "Writes about N MB (default 100) of ngram lines to FILE (default: stdout) and\n"
    "prints the totals to stderr.\n";

static uint64_t state;

static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

/* A word for slot i: 'A' or 'a', then 2-11 letters. Slots are in increasing
 * order of their first letters, so the file is (roughly) sorted like the real one. */
static size_t make_word(char *w, uint64_t i, uint64_t n)
{
    size_t len = 0;
    w[len++] = (next() % 4) ? 'a' : 'A';
    uint64_t pos = i * 26 * 26 / (n ? n : 1); /* spreads the words over aa..zz */
    w[len++] = (char)('a' + pos / 26 % 26);
    w[len++] = (char)('a' + pos % 26);
    size_t extra = next() % 9;
    for (size_t k = 0; k < extra; k++)
        w[len++] = (char)('a' + next() % 26);
    w[len] = '\0';
    return len;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    double mb = (double)demo_arg_long("--mb", 100);
    state = (uint64_t)demo_arg_long("--seed", 6) * 2654435761ULL + 88172645463325252ULL;
    const char *path = demo_arg_str("--out", NULL);
    FILE *f = path ? fopen(path, "w") : stdout;
    if (!f) {
        perror(path);
        return 1;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    const double bytes_per_word = 3 * 20.5; /* ~3 years a word, ~20.5 bytes a line */
    uint64_t nwords = (uint64_t)(mb * 1e6 / bytes_per_word), lines = 0;
    long long bytes = 0, aardvark = 0;
    for (int year = 1990; year < 2000; year++) { /* Aardvark: 10 years, 100 + year % 10 each */
        bytes += fprintf(f, "Aardvark\t%d\t%d\t%d\n", year, 100 + year % 10, 1 + year % 7);
        aardvark += 100 + year % 10;
        lines++;
    }
    char w[32];
    for (uint64_t i = 0; i < nwords; i++) {
        make_word(w, i, nwords);
        int years = 1 + (int)(next() % 5);
        int year = 1800 + (int)(next() % 150);
        for (int y = 0; y < years; y++, year += 1 + (int)(next() % 10)) {
            long match = 1 + (long)(next() % 1000) * (next() % 4 == 0 ? 50 : 1);
            bytes += fprintf(f, "%s\t%d\t%ld\t%ld\n", w, year, match, 1 + match / 3);
            lines++;
        }
    }
    if (fflush(f) != 0 || (path && fclose(f) != 0)) {
        perror("write");
        return 1;
    }
    fprintf(stderr, "ngram_gen: %llu lines, %lld bytes, Aardvark total %lld\n",
            (unsigned long long)lines, bytes, aardvark);
    return 0;
}
