/* freq.c - see freq.h. Linear probing with FNV-1a hashes; the table doubles at
 * 70 % load, so inserts stay O(1) amortised. */
#include "../freq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

void freq_init(struct freq *f) { memset(f, 0, sizeof(*f)); }

void freq_free(struct freq *f)
{
    for (size_t i = 0; i < f->cap; i++)
        free(f->e[i].word);
    free(f->e);
    freq_init(f);
}

static struct freq_ent *slot(struct freq_ent *e, size_t cap, const char *w, size_t len, uint64_t h)
{
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!e[i].word || (e[i].hash == h && e[i].len == len && !memcmp(e[i].word, w, len)))
            return &e[i];
}

static int grow(struct freq *f)
{
    size_t cap = f->cap ? f->cap * 2 : 1024;
    struct freq_ent *e = calloc(cap, sizeof(*e));
    if (!e)
        return -ENOMEM;
    for (size_t i = 0; i < f->cap; i++)
        if (f->e[i].word)
            *slot(e, cap, f->e[i].word, f->e[i].len, f->e[i].hash) = f->e[i];
    free(f->e);
    f->e = e;
    f->cap = cap;
    return 0;
}

int freq_add(struct freq *f, const char *word, size_t len, int64_t count)
{
    if ((f->n + 1) * 10 > f->cap * 7 && grow(f) < 0)
        return -ENOMEM;
    uint64_t h = fnv1a(word, len);
    struct freq_ent *s = slot(f->e, f->cap, word, len, h);
    if (!s->word) {
        if (!(s->word = malloc(len + 1)))
            return -ENOMEM;
        memcpy(s->word, word, len);
        s->word[len] = '\0';
        s->len = len;
        s->hash = h;
        f->n++;
    }
    s->count += count;
    return 0;
}

int64_t freq_get(const struct freq *f, const char *word)
{
    if (!f->cap)
        return 0;
    size_t len = strlen(word);
    struct freq_ent *s = slot(f->e, f->cap, word, len, fnv1a(word, len));
    return s->word ? s->count : 0;
}

int freq_merge(struct freq *dst, const struct freq *src)
{
    for (size_t i = 0; i < src->cap; i++)
        if (src->e[i].word && freq_add(dst, src->e[i].word, src->e[i].len, src->e[i].count) < 0)
            return -ENOMEM;
    return 0;
}

int freq_dump(const struct freq *f, char **out, size_t *len)
{
    size_t cap = 1;
    for (size_t i = 0; i < f->cap; i++)
        if (f->e[i].word)
            cap += f->e[i].len + 22;
    char *b = malloc(cap), *p = b;
    if (!b)
        return -ENOMEM;
    for (size_t i = 0; i < f->cap; i++) {
        if (!f->e[i].word)
            continue;
        memcpy(p, f->e[i].word, f->e[i].len);
        p += f->e[i].len;
        *p++ = '\t';
        char digits[24];
        int n = 0;
        for (uint64_t v = (uint64_t)f->e[i].count; n == 0 || v; v /= 10)
            digits[n++] = (char)('0' + v % 10);
        while (n)
            *p++ = digits[--n];
        *p++ = '\n';
    }
    *out = b;
    *len = (size_t)(p - b);
    return 0;
}

/* Walk lines of tab-separated fields; field k (0-based) is the count. */
static int load_fields(struct freq *f, const char *text, size_t len, int k)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        const char *tab = memchr(p, '\t', (size_t)(eol - p));
        if (!tab)
            return -EINVAL;
        const char *field = tab + 1;
        for (int i = 1; i < k && field < eol; i++) {
            const char *t = memchr(field, '\t', (size_t)(eol - field));
            field = t ? t + 1 : eol;
        }
        int64_t v = 0;
        while (field < eol && *field >= '0' && *field <= '9')
            v = v * 10 + (*field++ - '0');
        if (freq_add(f, p, (size_t)(tab - p), v) < 0)
            return -ENOMEM;
        p = eol + 1;
    }
    return 0;
}

int freq_load(struct freq *f, const char *text, size_t len) { return load_fields(f, text, len, 1); }
int freq_ngram(struct freq *f, const char *text, size_t len)
{
    return load_fields(f, text, len, 2);
}

static int by_count_desc(const void *a, const void *b)
{
    const struct freq_ent *x = *(const struct freq_ent *const *)a;
    const struct freq_ent *y = *(const struct freq_ent *const *)b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->word, y->word);
}

size_t freq_top(const struct freq *f, const struct freq_ent **top, size_t k)
{
    size_t n = 0;
    for (size_t i = 0; i < f->cap && k; i++) {
        if (!f->e[i].word)
            continue;
        if (n < k) {
            top[n++] = &f->e[i];
        } else if (f->e[i].count > top[k - 1]->count) {
            top[k - 1] = &f->e[i];
        } else {
            continue;
        }
        qsort(top, n, sizeof(*top), by_count_desc);
    }
    return n;
}
