/* fuzz_feed.c - libFuzzer target for the loom-rss feed parser
 * (demos/common/feed.c). The first byte picks the Content-Type charset and
 * where the input is cut in two pushes; the rest is the document. The parse
 * must not crash, leak or run away; titles must be valid UTF-8 and sanitise to
 * inert text; a document that parses both in one push and cut in two must give
 * the same feed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demos/common/feed.c"

static const char *const charsets[] = {NULL, "koi8-r", "windows-1251", "utf-16", "x-unknown"};

static void check_text(const char *s)
{
    if (!loom_utf8_valid(s, strlen(s)))
        abort();
    char out[LOOM_UTF8_SANITIZE_MAX(64)];
    size_t n = strlen(s) < 64 ? strlen(s) : 64;
    while (n > 0 && n < strlen(s) && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    loom_utf8_sanitize(out, sizeof out, s, n, 0);
    for (const unsigned char *c = (const unsigned char *)out; *c; c++)
        if (*c < 0x20 || *c == 0x7F || (c[0] == 0xC2 && c[1] >= 0x80 && c[1] <= 0x9F))
            abort();
}

static int parse(const uint8_t *d, size_t n, const char *cs, size_t cut, struct demo_feed *f)
{
    struct demo_feed_parser *p;
    struct demo_feed_limits lim = {
        .max_entries = 50, .max_title = 200, .max_link = 300, .max_bytes = 1 << 20};
    if (demo_feed_parser_new(&p, "http://127.0.0.1:8080/feeds/f.xml", cs, &lim) != 0)
        abort();
    demo_feed_parser_push(p, d, cut);
    demo_feed_parser_push(p, d + cut, n - cut);
    int rc = demo_feed_parser_finish(p, f);
    demo_feed_parser_free(p);
    return rc;
}

static int same(const struct demo_feed *a, const struct demo_feed *b)
{
    if (a->kind != b->kind || strcmp(a->title, b->title) || a->n_entries != b->n_entries ||
        a->dropped != b->dropped || a->bad_links != b->bad_links)
        return 0;
    for (size_t i = 0; i < a->n_entries; i++) {
        const struct demo_feed_entry *x = &a->entries[i], *y = &b->entries[i];
        if (strcmp(x->title, y->title) || !x->link != !y->link ||
            (x->link && strcmp(x->link, y->link)))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *cs = charsets[data[0] % 5];
    const uint8_t *d = data + 1;
    size_t n = size - 1, cut = n ? (size_t)(data[0] >> 3) * n / 32 : 0;
    struct demo_feed whole, split;
    int rc1 = parse(d, n, cs, n, &whole);
    int rc2 = parse(d, n, cs, cut, &split);
    check_text(whole.title);
    for (size_t i = 0; i < whole.n_entries; i++) {
        check_text(whole.entries[i].title);
        if (whole.entries[i].link && !has_scheme(whole.entries[i].link))
            abort(); /* links are absolute */
    }
    if (rc1 == 0 && rc2 == 0 && !same(&whole, &split))
        abort();
    demo_feed_free(&whole);
    demo_feed_free(&split);
    return 0;
}
