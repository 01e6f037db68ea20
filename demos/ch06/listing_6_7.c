/* listing_6_7.c - counting words in one process: the baseline (listing 6.7).
 *
 * Sums match_count per word over the whole ngram file on one core, and prints
 * the time and the number of distinct words. Listings 6.8 and 6.9 do the same
 * work in a process pool. Input: a generated file in Google Books Ngram
 * format (ngram_gen; same seed and size, same data). */
#include <stdio.h>

#include "demo.h"
#include "freq.h"

static const char usage[] =
    "usage: listing_6_7 [--file FILE | --mb N]\n"
    "Sums match_count per word of FILE (default: a generated N MB file, N=100).\n";

static intptr_t amain(void *arg)
{
    struct ngram_file in;
    DEMO_CHECK(ngram_open(&in));
    struct freq freqs;
    freq_init(&freqs);
    double start = demo_now();
    DEMO_CHECK(freq_ngram(&freqs, in.data, in.len));
    double end = demo_now();
    printf("Read %zu bytes of %s\n", in.len, in.path);
    printf("Aggregating took: %.4f s\n", end - start);
    printf("Distinct words: %zu\n", freqs.n);
    printf("Aardvark has appeared %lld times.\n", (long long)freq_get(&freqs, "Aardvark"));
    freq_free(&freqs);
    ngram_close(&in);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    return (int)loom_run(amain, NULL);
}
