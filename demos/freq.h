/* freq.h - word frequency tables for the MapReduce demos of chapter 6
 * (listings 6.6-6.9, 6.14): an open-addressing hash table of word -> count,
 * a text form to ship tables between processes ("word TAB count NL" lines;
 * two such texts concatenated load as their merge), and the Google Books
 * Ngram line parser (word TAB year TAB match_count TAB volume_count). */
#ifndef LOOM_DEMOS_FREQ_H
#define LOOM_DEMOS_FREQ_H

#include <stddef.h>
#include <stdint.h>

struct freq_ent {
    char *word; /* NUL-terminated, owned; NULL: empty slot */
    size_t len;
    uint64_t hash;
    int64_t count;
};

struct freq {
    struct freq_ent *e;
    size_t cap; /* power of two */
    size_t n;   /* distinct words */
};

void freq_init(struct freq *f);
void freq_free(struct freq *f);
/* Add count to word (inserted when new). 0 or -ENOMEM. */
int freq_add(struct freq *f, const char *word, size_t len, int64_t count);
/* The count of a NUL-terminated word (0 if absent). */
int64_t freq_get(const struct freq *f, const char *word);
/* dst += src. 0 or -ENOMEM. */
int freq_merge(struct freq *dst, const struct freq *src);
/* The table as text in a malloc'd buffer (*out, *len). 0 or -ENOMEM. */
int freq_dump(const struct freq *f, char **out, size_t *len);
/* Add every "word TAB count" line of text. 0, -ENOMEM or -EINVAL. */
int freq_load(struct freq *f, const char *text, size_t len);
/* Add match_count per word for every ngram line. 0, -ENOMEM or -EINVAL. */
int freq_ngram(struct freq *f, const char *text, size_t len);
/* The k most frequent entries (views into f) into top; returns how many. */
size_t freq_top(const struct freq *f, const struct freq_ent **top, size_t k);

/* --- the input file of listings 6.7-6.9 and 6.14 --- */

struct ngram_file {
    char path[1024];
    const char *data; /* the whole file, mmap'd read-only */
    size_t len;
};

/* Open --file FILE, or the default generated file for --mb N (default 100) in
 * $TMPDIR; a missing default file is generated first by running ngram_gen (built
 * next to the demo) as a subprocess. Prints what it does. Call from a task:
 * suspends while generating. 0 or a negative error. */
int ngram_open(struct ngram_file *f);
void ngram_close(struct ngram_file *f);

/* Split [data, data+len) into chunks of lines_per_chunk lines: fills up to max
 * (start, length) pairs and returns the count (or how many would be needed). */
size_t ngram_chunks(const char *data, size_t len, size_t lines_per_chunk, const char **start,
                    size_t *length, size_t max);

#endif
