/* check_feed.c - the feed parser of loom-rss (demos/common/feed.c): every file
 * of the corpus (tests/feeds/) parsed in one piece, split at every byte
 * boundary and pushed one byte at a time (the same result each way), link
 * resolution through nested xml:base, the charset order of RFC 7303, limits,
 * hostile XML (billion laughs, quadratic blow-up, external entities) and the
 * terminal sanitiser. */
#include "harness/farm.h"
#include "harness/harness.h"

#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "demos/common/feed.c"
#include "demos/common/feed_report.c"

#include <jansson.h>

#include "demos/apps/feeds_default.h"

#define ORIGIN "http://127.0.0.1:8080"

/* --- helpers --- */

/* The corpus file with @ORIGIN@ replaced (byte-wise: every ASCII-compatible file). */
static char *load(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "tests/feeds/%s", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (tests run from the repo root)", path);
    char *raw = malloc(1 << 16);
    size_t n = fread(raw, 1, 1 << 16, f);
    fclose(f);
    char *out = malloc(2 * n + 1), *o = out;
    for (size_t i = 0; i < n;) {
        if (n - i >= 8 && memcmp(raw + i, "@ORIGIN@", 8) == 0) {
            o += sprintf(o, "%s", ORIGIN);
            i += 8;
        } else {
            *o++ = raw[i++];
        }
    }
    free(raw);
    *o = '\0'; /* for the tests that treat it as a string */
    *len = (size_t)(o - out);
    return out;
}

/* A feed as text, one fact a line, to compare results. */
static char *dump(int rc, const struct demo_feed *f)
{
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    n += snprintf(s + n, cap - n, "rc=%d kind=%s enc=%s title=%s dropped=%zu bad=%zu\n", rc,
                  demo_feed_kind_name(f->kind), f->encoding, f->title ? f->title : "(null)",
                  f->dropped, f->bad_links);
    for (size_t i = 0; i < f->n_entries && n < cap - 1; i++)
        n += snprintf(s + n, cap - n, "%s | %s\n", f->entries[i].link ? f->entries[i].link : "-",
                      f->entries[i].title);
    return s;
}

/* Parse buf pushed in pieces: cut at `at` when `step` is 0, else in step-byte pushes. */
static char *parse_split(const char *buf, size_t len, const char *url, const char *cs, size_t at,
                         size_t step)
{
    struct demo_feed_parser *p;
    ck_assert_int_eq(demo_feed_parser_new(&p, url, cs, NULL), 0);
    if (step == 0) {
        demo_feed_parser_push(p, buf, at);
        demo_feed_parser_push(p, buf + at, len - at);
    } else {
        for (size_t i = 0; i < len; i += step)
            demo_feed_parser_push(p, buf + i, len - i < step ? len - i : step);
    }
    struct demo_feed f;
    int rc = demo_feed_parser_finish(p, &f);
    if (rc == DEMO_FEED_EXML)
        ck_assert_msg(*demo_feed_parser_errmsg(p), "an XML error comes with libxml2's message");
    char *d = dump(rc, &f);
    demo_feed_free(&f);
    demo_feed_parser_free(p);
    return d;
}

/* --- the corpus --- */

struct corpus_case {
    const char *file;
    const char *charset; /* the Content-Type charset the farm sends */
    const char *want;    /* dump() of the result */
};

/* clang-format off */
static const struct corpus_case corpus[] = {
    {"rss2-utf8.xml", NULL,
     "rc=0 kind=rss enc=UTF-8 title=Loom Test & Feed <UTF-8> dropped=0 bad=0\n"
     ORIGIN "/links/ok/1?a=1&b=2 | Привет, мир — «CDATA» & <b>raw</b>\n"
     ORIGIN "/links/ok/2 | Relative link\n"
     ORIGIN "/links/nohead/3 | Guid only\n"
     ORIGIN "/links/missing/4 | Gone \xF0\x9F\x92\xA5 ©\n"
     ORIGIN "/links/moved/5 | Moved\xC2\x9B" "31m control\n"
     "- | No link at all\n"},
    {"rss2-cp1251.xml", NULL,
     "rc=0 kind=rss enc=windows-1251 title=Новости 3DNews — тест dropped=0 bad=0\n"
     ORIGIN "/links/ok/11 | Первая новость: ёжик в тумане\n"
     ORIGIN "/links/ok/12 | Вторая «новость» №2\n"
     ORIGIN "/links/moved/13 | Третья — ЭЮЯ эюя\n"},
    {"rss2-koi8r.xml", "koi8-r",
     "rc=0 kind=rss enc=koi8-r title=Игромания: статьи dropped=0 bad=0\n"
     ORIGIN "/links/ok/21 | Обзор: Ведьмак\n"
     ORIGIN "/links/nohead/22 | Превью: \"Щит\" Ёё\n"},
    {"utf16-bom.xml", NULL,
     "rc=0 kind=rss enc=UTF-16LE title=UTF-16 лента ✓ 𝄞 dropped=0 bad=0\n"
     ORIGIN "/links/ok/31 | Запись один 𝄞\n"
     ORIGIN "/links/ok/32 | Запись два\n"},
    {"atom-base.xml", NULL,
     "rc=0 kind=atom enc=UTF-8 title=Atom base test & co dropped=0 bad=0\n"
     ORIGIN "/links/ok/41 | Alternate after self\n"
     ORIGIN "/links/moved/42 | Rel-less, entry base\n"
     ORIGIN "/links/ok/43 | XHTML title\n"
     "- | Only self\n"
     ORIGIN "/links/ok/45#frag | Escaped \x1b[2J\x1b]0;pwned\x07 html\n"},
    {"rdf.xml", NULL,
     "rc=0 kind=rdf enc=UTF-8 title=RDF Site Summary dropped=0 bad=0\n"
     ORIGIN "/links/ok/51 | First RDF item\n"
     ORIGIN "/links/moved/52 | About only\n"},
    {"malformed.xml", NULL,
     "rc=-4201 kind=rss enc=UTF-8 title=Broken feed dropped=0 bad=0\n"
     ORIGIN "/links/ok/61 | Before the break\n"},
    {"billion-laughs.xml", NULL, "rc=-4204 kind=unknown enc=UTF-8 title= dropped=0 bad=0\n"},
    {"404.html", NULL, "rc=-4202 kind=unknown enc=UTF-8 title= dropped=0 bad=0\n"},
};
/* clang-format on */

static char *corpus_url(const char *file)
{
    static char url[256];
    snprintf(url, sizeof url, ORIGIN "/feeds/%s", file);
    return url;
}

START_TEST(test_corpus_whole)
{
    const struct corpus_case *c = &corpus[_i];
    size_t len;
    char *buf = load(c->file, &len);
    struct demo_feed f;
    int rc = demo_feed_parse(buf, len, corpus_url(c->file), c->charset, NULL, &f);
    char *d = dump(rc, &f);
    ck_assert_msg(strcmp(d, c->want) == 0, "%s:\n got: %s\nwant: %s", c->file, d, c->want);
    for (size_t i = 0; i < f.n_entries; i++)
        ck_assert(loom_utf8_valid(f.entries[i].title, strlen(f.entries[i].title)));
    ck_assert(loom_utf8_valid(f.title, strlen(f.title)));
    free(d);
    demo_feed_free(&f);
    free(buf);
}
END_TEST

/* Two pushes, cut at every byte; then one byte per push. */
START_TEST(test_corpus_split)
{
    const struct corpus_case *c = &corpus[_i];
    size_t len;
    char *buf = load(c->file, &len);
    for (size_t at = 0; at <= len; at++) {
        char *d = parse_split(buf, len, corpus_url(c->file), c->charset, at, 0);
        ck_assert_msg(strcmp(d, c->want) == 0, "%s cut at %zu:\n got: %s\nwant: %s", c->file, at, d,
                      c->want);
        free(d);
    }
    for (size_t step = 1; step <= 7; step += 3) {
        char *d = parse_split(buf, len, corpus_url(c->file), c->charset, 0, step);
        ck_assert_msg(strcmp(d, c->want) == 0, "%s in %zu-byte pushes:\n got: %s", c->file, step,
                      d);
        free(d);
    }
    free(buf);
}
END_TEST

/* --- link resolution --- */

struct link_case {
    const char *feed_base; /* xml:base on <feed>, or NULL */
    const char *entry_base;
    const char *link_base; /* on the <link> itself */
    const char *href;
    const char *want; /* NULL: no usable link */
};

static const struct link_case links[] = {
    {NULL, NULL, NULL, "http://example.com/a", "http://example.com/a"},
    {NULL, NULL, NULL, "b/c", ORIGIN "/feeds/b/c"},
    {NULL, NULL, NULL, "/root", ORIGIN "/root"},
    {NULL, NULL, NULL, "../up", ORIGIN "/up"},
    {NULL, NULL, NULL, "../../../../up", ORIGIN "/up"},
    {NULL, NULL, NULL, "//other.test/x", "http://other.test/x"},
    {NULL, NULL, NULL, "?q=1", ORIGIN "/feeds/atom.xml?q=1"},
    {NULL, NULL, NULL, "#frag", ORIGIN "/feeds/atom.xml#frag"},
    {NULL, NULL, NULL, "a b/ü", ORIGIN "/feeds/a%20b/%C3%BC"},
    {NULL, NULL, NULL, "  \n spaced \t ", ORIGIN "/feeds/spaced"},
    {NULL, NULL, NULL, "", NULL},
    {"https://base.test/dir/", NULL, NULL, "x", "https://base.test/dir/x"},
    {"/one/", "two/", NULL, "three", ORIGIN "/one/two/three"},
    {"/one/", "two/", "../four/", "five", ORIGIN "/one/four/five"},
    {"/one/", "https://abs.test/p/", "q/", "r?s=1&t=2", "https://abs.test/p/q/r?s=1&t=2"},
    {"sub/", NULL, NULL, "./x", ORIGIN "/feeds/sub/x"},
};

START_TEST(test_link_resolution)
{
    const struct link_case *c = &links[_i];
    char doc[2048], fb[256] = "", eb[256] = "", lb[256] = "";
    if (c->feed_base)
        snprintf(fb, sizeof fb, " xml:base=\"%s\"", c->feed_base);
    if (c->entry_base)
        snprintf(eb, sizeof eb, " xml:base=\"%s\"", c->entry_base);
    if (c->link_base)
        snprintf(lb, sizeof lb, " xml:base=\"%s\"", c->link_base);
    /* the href as an attribute value: & must be escaped in XML */
    char esc[512], *o = esc;
    for (const char *s = c->href; *s; s++)
        o += *s == '&' ? sprintf(o, "&amp;") : (*o = *s, 1);
    *o = '\0';
    snprintf(doc, sizeof doc,
             "<feed xmlns='http://www.w3.org/2005/Atom'%s><entry%s><title>t</title>"
             "<link%s href=\"%s\"/></entry></feed>",
             fb, eb, lb, esc);
    struct demo_feed f;
    ck_assert_int_eq(demo_feed_parse(doc, strlen(doc), ORIGIN "/feeds/atom.xml", NULL, NULL, &f),
                     0);
    ck_assert_uint_eq(f.n_entries, 1);
    if (c->want)
        ck_assert_msg(f.entries[0].link && !strcmp(f.entries[0].link, c->want),
                      "href %s: got %s want %s", c->href, f.entries[0].link, c->want);
    else
        ck_assert_ptr_null(f.entries[0].link);
    demo_feed_free(&f);
}
END_TEST

/* RSS <link> text under xml:base; an RDF item falls back to rdf:about. */
START_TEST(test_link_rss_base)
{
    const char *doc = "<rss xml:base='http://b.test/x/'><channel xml:base='y/'>"
                      "<item><link>z?a=1&amp;b=2</link></item>"
                      "<item xml:base='/abs/'><link>w</link><guid>http://g.test/</guid></item>"
                      "<item><guid isPermaLink='true'>rel/only</guid></item>"
                      "</channel></rss>";
    struct demo_feed f;
    ck_assert_int_eq(demo_feed_parse(doc, strlen(doc), ORIGIN "/f", NULL, NULL, &f), 0);
    ck_assert_uint_eq(f.n_entries, 3);
    ck_assert_str_eq(f.entries[0].link, "http://b.test/x/y/z?a=1&b=2");
    ck_assert_str_eq(f.entries[1].link, "http://b.test/abs/w");
    ck_assert_ptr_null(f.entries[2].link); /* a relative guid is not a link */
    demo_feed_free(&f);
}
END_TEST

/* --- charset order (RFC 7303 section 3) --- */

/* "Привет" in windows-1251 and in koi8-r. */
#define CP1251_PRIVET "\xcf\xf0\xe8\xe2\xe5\xf2"
#define KOI8_PRIVET "\xf0\xd2\xc9\xd7\xc5\xd4"

static void expect_title(const char *doc, size_t len, const char *cs, int rc, const char *enc,
                         const char *title)
{
    struct demo_feed f;
    int got = demo_feed_parse(doc, len, ORIGIN "/f", cs, NULL, &f);
    ck_assert_msg(got == rc, "rc %d want %d (%s)", got, rc, demo_feed_strerror(got));
    ck_assert_str_eq(f.encoding, enc);
    if (title)
        ck_assert_str_eq(f.title, title);
    ck_assert(loom_utf8_valid(f.title, strlen(f.title)));
    demo_feed_free(&f);
}

START_TEST(test_charset_order)
{
    const char *decl1251 =
        "<?xml version='1.0' encoding='windows-1251'?><rss><channel><title>" CP1251_PRIVET
        "</title></channel></rss>";
    const char *plain_koi = "<rss><channel><title>" KOI8_PRIVET "</title></channel></rss>";
    const char *decl_koi_cp =
        "<?xml version='1.0' encoding='windows-1251'?><rss><channel><title>" KOI8_PRIVET
        "</title></channel></rss>";
    /* declaration only */
    expect_title(decl1251, strlen(decl1251), NULL, 0, "windows-1251", "Привет");
    /* Content-Type only */
    expect_title(plain_koi, strlen(plain_koi), "KOI8-R", 0, "KOI8-R", "Привет");
    /* Content-Type beats the declaration */
    expect_title(decl_koi_cp, strlen(decl_koi_cp), "koi8-r", 0, "koi8-r", "Привет");
    /* an unknown Content-Type charset: the declaration decides */
    expect_title(decl1251, strlen(decl1251), "x-no-such-charset", 0, "windows-1251", "Привет");
    /* an unknown declared charset: UTF-8; the bytes are not UTF-8, a named error */
    const char *bogus =
        "<?xml version='1.0' encoding='x-bogus'?><rss><channel><title>" CP1251_PRIVET
        "</title></channel></rss>";
    expect_title(bogus, strlen(bogus), NULL, DEMO_FEED_EXML, "UTF-8", NULL);
    /* wrong declaration (says UTF-8, bytes are windows-1251): an error, no crash */
    const char *liar = "<?xml version='1.0' encoding='utf-8'?><rss><channel><title>" CP1251_PRIVET
                       "</title></channel></rss>";
    expect_title(liar, strlen(liar), NULL, DEMO_FEED_EXML, "UTF-8", NULL);
    /* a UTF-8 BOM beats both the Content-Type and the declaration */
    const char *bom = "\xEF\xBB\xBF<?xml version='1.0' encoding='koi8-r'?><rss><channel><title>"
                      "Привет</title></channel></rss>";
    expect_title(bom, strlen(bom), "windows-1251", 0, "UTF-8", "Привет");
    /* no BOM, no charset, no declaration: UTF-8 */
    const char *bare = "<rss><channel><title>Привет</title></channel></rss>";
    expect_title(bare, strlen(bare), NULL, 0, "UTF-8", "Привет");
}
END_TEST

/* UTF-16 big-endian with a BOM and little-endian without one, built here. */
START_TEST(test_charset_utf16)
{
    const char *text = "<?xml version='1.0' encoding='UTF-16'?><rss><channel><title>Ж 𝄞</title>"
                       "</channel></rss>";
    xmlCharEncodingHandlerPtr be = xmlFindCharEncodingHandler("UTF-16BE");
    xmlCharEncodingHandlerPtr le = xmlFindCharEncodingHandler("UTF-16LE");
    xmlBufferPtr in = xmlBufferCreate(), in2 = xmlBufferCreate();
    xmlBufferPtr obe = xmlBufferCreate(), ole = xmlBufferCreate();
    xmlBufferCat(in, (const xmlChar *)text);
    xmlBufferCat(in2, (const xmlChar *)text);
    ck_assert_int_gt(xmlCharEncOutFunc(be, obe, in), 0);
    ck_assert_int_gt(xmlCharEncOutFunc(le, ole, in2), 0);
    size_t n = (size_t)xmlBufferLength(obe);
    char *doc = malloc(n + 2);
    memcpy(doc, "\xFE\xFF", 2);
    memcpy(doc + 2, xmlBufferContent(obe), n);
    for (size_t at = 0; at <= n + 2; at += 1) { /* every cut, odd ones split a code unit */
        char *d = parse_split(doc, n + 2, ORIGIN "/f", "iso-8859-1", at, 0);
        ck_assert_msg(strstr(d, "enc=UTF-16BE title=Ж 𝄞 ") != NULL, "cut %zu: %s", at, d);
        free(d);
    }
    expect_title((const char *)xmlBufferContent(ole), (size_t)xmlBufferLength(ole), NULL, 0,
                 "UTF-16LE", "Ж 𝄞");
    free(doc);
    xmlBufferFree(in), xmlBufferFree(in2), xmlBufferFree(obe), xmlBufferFree(ole);
    xmlCharEncCloseFunc(be), xmlCharEncCloseFunc(le);
}
END_TEST

START_TEST(test_content_charset)
{
    char b[32];
    ck_assert_str_eq(demo_feed_content_charset("text/xml; charset=koi8-r", b, sizeof b), "koi8-r");
    ck_assert_str_eq(demo_feed_content_charset("text/xml;CHARSET=\"Windows-1251\"", b, sizeof b),
                     "Windows-1251");
    ck_assert_str_eq(demo_feed_content_charset("a/b; q=1; charset = utf-8 ; x=y", b, sizeof b),
                     "utf-8");
    ck_assert_ptr_null(demo_feed_content_charset("application/rss+xml", b, sizeof b));
    ck_assert_ptr_null(demo_feed_content_charset(NULL, b, sizeof b));
    ck_assert_ptr_null(demo_feed_content_charset("text/xml; charset=", b, sizeof b));
    ck_assert_ptr_null(demo_feed_content_charset("text/xml; charset=\"a\x1b[2J\"", b, sizeof b));
    ck_assert_ptr_null(demo_feed_content_charset("text/xml; charset=0123456789012345678901234"
                                                 "56789012345",
                                                 b, sizeof b));
}
END_TEST

/* Multibyte characters pushed one byte at a time inside a CDATA section and text. */
START_TEST(test_multibyte_split)
{
    const char *doc = "<rss><channel><title><![CDATA[𝄞é]]>Ж€😀</title><item><title>ё"
                      "</title><link>http://x.test/ё</link></item></channel></rss>";
    char *d = parse_split(doc, strlen(doc), ORIGIN "/f", NULL, 0, 1);
    ck_assert_str_eq(d, "rc=0 kind=rss enc=UTF-8 title=𝄞éЖ€😀 dropped=0 bad=0\n"
                        "http://x.test/%D1%91 | ё\n");
    free(d);
}
END_TEST

/* --- limits --- */

/* A feed of n items generated here (the huge feed is never committed). */
static char *gen_feed(size_t n, size_t *len)
{
    size_t cap = 200 + n * 96, off = 0;
    char *s = malloc(cap);
    off += sprintf(s, "<?xml version='1.0'?><rss version='2.0'><channel><title>Huge</title>");
    for (size_t i = 0; i < n; i++)
        off += sprintf(s + off, "<item><title>Entry %zu</title><link>/e/%zu</link></item>", i, i);
    off += sprintf(s + off, "</channel></rss>");
    ck_assert_uint_lt(off, cap);
    *len = off;
    return s;
}

START_TEST(test_limit_entries)
{
    size_t len;
    char *doc = gen_feed(25000, &len);
    struct demo_feed f;
    ck_assert_int_eq(demo_feed_parse(doc, len, ORIGIN "/f", NULL, NULL, &f), 0);
    ck_assert_uint_eq(f.n_entries, 10000);
    ck_assert_uint_eq(f.dropped, 15000);
    ck_assert_str_eq(f.entries[9999].link, ORIGIN "/e/9999");
    ck_assert_str_eq(f.entries[9999].title, "Entry 9999");
    demo_feed_free(&f);
    /* the same pushed in 4 KiB pieces as a socket would deliver it */
    char *d1 = parse_split(doc, len, ORIGIN "/f", NULL, 0, 4096);
    ck_assert_ptr_nonnull(strstr(d1, "dropped=15000"));
    free(d1);
    struct demo_feed_limits lim = {.max_entries = 3};
    ck_assert_int_eq(demo_feed_parse(doc, len, ORIGIN "/f", NULL, &lim, &f), 0);
    ck_assert_uint_eq(f.n_entries, 3);
    demo_feed_free(&f);
    free(doc);
}
END_TEST

START_TEST(test_limit_bytes)
{
    size_t len;
    char *doc = gen_feed(1000, &len);
    struct demo_feed_limits lim = {.max_bytes = len - 1};
    struct demo_feed_parser *p;
    ck_assert_int_eq(demo_feed_parser_new(&p, ORIGIN "/f", NULL, &lim), 0);
    ck_assert_int_eq(demo_feed_parser_push(p, doc, len / 2), 0);
    ck_assert_int_eq(demo_feed_parser_push(p, doc + len / 2, len - len / 2), DEMO_FEED_ETOOBIG);
    ck_assert_int_eq(demo_feed_parser_push(p, "x", 1), DEMO_FEED_ETOOBIG); /* sticky */
    struct demo_feed f;
    ck_assert_int_eq(demo_feed_parser_finish(p, &f), DEMO_FEED_ETOOBIG);
    ck_assert_uint_gt(f.n_entries, 0); /* what came before the limit is kept */
    demo_feed_free(&f);
    demo_feed_parser_free(p);
    free(doc);
}
END_TEST

/* A title over max_title is cut at a character boundary; a link over max_link
 * is dropped (a cut URL is a wrong URL) and counted. */
START_TEST(test_limit_text)
{
    char doc[8192];
    char title[3001] = "", link[5001];
    for (int i = 0; i < 1000; i++)
        strcat(title, "жж"), i++;
    memset(link, 'a', 5000);
    link[5000] = '\0';
    snprintf(doc, sizeof doc,
             "<rss><channel><title>%s</title><item><title>x</title><link>/%s</link></item>"
             "</channel></rss>",
             title, link);
    struct demo_feed f;
    struct demo_feed_limits lim = {.max_title = 101};
    ck_assert_int_eq(demo_feed_parse(doc, strlen(doc), ORIGIN "/f", NULL, &lim, &f), 0);
    ck_assert_uint_eq(strlen(f.title), 100); /* 50 two-byte characters, not 101 bytes */
    ck_assert(loom_utf8_valid(f.title, strlen(f.title)));
    ck_assert_uint_eq(f.n_entries, 1);
    ck_assert_ptr_null(f.entries[0].link);
    ck_assert_uint_eq(f.bad_links, 1);
    demo_feed_free(&f);
}
END_TEST

/* --- hostile XML --- */

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Billion laughs: 10^9 "lol"s if expanded. libxml2 refuses the amplification
 * when the first reference is parsed; bounds are generous (sanitizer builds). */
START_TEST(test_billion_laughs)
{
    size_t len;
    char *doc = load("billion-laughs.xml", &len);
    long rss0 = max_rss_kib();
    double t0 = cpu_seconds();
    struct demo_feed f;
    struct demo_feed_parser *p;
    ck_assert_int_eq(demo_feed_parser_new(&p, ORIGIN "/f", NULL, NULL), 0);
    demo_feed_parser_push(p, doc, len);
    ck_assert_int_eq(demo_feed_parser_finish(p, &f), DEMO_FEED_EENTITY);
    ck_assert_ptr_nonnull(strstr(demo_feed_parser_errmsg(p), "entity"));
    ck_assert_uint_eq(f.n_entries, 0);
    demo_feed_free(&f);
    demo_feed_parser_free(p);
    ck_assert_msg(cpu_seconds() - t0 < 5.0, "took %.2f s of CPU", cpu_seconds() - t0);
    ck_assert_msg(max_rss_kib() - rss0 < 256 * 1024, "grew by %ld KiB", max_rss_kib() - rss0);
    free(doc);
}
END_TEST

/* A document declaring one entity of big bytes and referencing it refs times. */
static int blowup(size_t big, size_t refs, double max_cpu)
{
    char *doc = malloc(big + refs * 3 + 512), *o = doc;
    o += sprintf(o, "<?xml version='1.0'?><!DOCTYPE rss [<!ENTITY a \"");
    memset(o, 'x', big), o += big;
    o += sprintf(o, "\">]><rss><channel><title>");
    for (size_t i = 0; i < refs; i++)
        memcpy(o, "&a;", 3), o += 3;
    o += sprintf(o, "</title></channel></rss>");
    long rss0 = max_rss_kib();
    double t0 = cpu_seconds();
    struct demo_feed f;
    int rc = demo_feed_parse(doc, (size_t)(o - doc), ORIGIN "/f", NULL, NULL, &f);
    demo_feed_free(&f);
    ck_assert_msg(cpu_seconds() - t0 < max_cpu, "took %.2f s of CPU", cpu_seconds() - t0);
    ck_assert_msg(max_rss_kib() - rss0 < 256 * 1024, "grew by %ld KiB", max_rss_kib() - rss0);
    free(doc);
    return rc;
}

/* Quadratic blow-up: one 50 KB entity referenced 50,000 times (2.5 GB): refused
 * at the declaration. */
START_TEST(test_quadratic_blowup) { ck_assert_int_eq(blowup(50000, 50000, 10), DEMO_FEED_EENTITY); }
END_TEST

/* A small entity referenced a million times (1 GB of text from 3 MB): the text
 * budget (3 x input + 1 MiB) stops it; a few references are fine. */
START_TEST(test_expansion_budget)
{
    ck_assert_int_eq(blowup(1000, 1000000, 10), DEMO_FEED_EENTITY);
    ck_assert_int_eq(blowup(1000, 100, 10), 0);
}
END_TEST

/* Harmless declarations (&nbsp; spelt out, a name) work; nesting does not. */
START_TEST(test_small_entities)
{
    const char *ok = "<!DOCTYPE rss [<!ENTITY nbsp '&#160;'><!ENTITY co 'Loom Inc'>]>"
                     "<rss><channel><title>a&nbsp;b &co; &amp; &#169;</title></channel></rss>";
    struct demo_feed f;
    ck_assert_int_eq(demo_feed_parse(ok, strlen(ok), ORIGIN "/f", NULL, NULL, &f), 0);
    ck_assert_str_eq(f.title, "a\u00A0b Loom Inc & ©");
    demo_feed_free(&f);
    const char *nest = "<!DOCTYPE rss [<!ENTITY a 'x'><!ENTITY b '&a;&a;'>]><rss/>";
    ck_assert_int_eq(demo_feed_parse(nest, strlen(nest), ORIGIN "/f", NULL, NULL, &f),
                     DEMO_FEED_EENTITY);
    demo_feed_free(&f);
    const char *pe = "<!DOCTYPE rss [<!ENTITY % p 'x'>]><rss/>";
    ck_assert_int_eq(demo_feed_parse(pe, strlen(pe), ORIGIN "/f", NULL, NULL, &f),
                     DEMO_FEED_EENTITY);
    demo_feed_free(&f);
    /* an external DTD is named, not read: the feed parses */
    const char *dtd = "<!DOCTYPE rss PUBLIC '-//Netscape Communications//DTD RSS 0.91//EN' "
                      "'http://my.netscape.com/publish/formats/rss-0.91.dtd'>"
                      "<rss version='0.91'><channel><title>old</title></channel></rss>";
    ck_assert_int_eq(demo_feed_parse(dtd, strlen(dtd), ORIGIN "/f", NULL, NULL, &f), 0);
    ck_assert_str_eq(f.title, "old");
    demo_feed_free(&f);
}
END_TEST

/* External entities and DTDs are never read, not even from the local disk. */
START_TEST(test_no_external)
{
    char path[] = "/tmp/loom-feed-secret-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "SECRET", 6), 6);
    close(fd);
    char doc[1024];
    snprintf(doc, sizeof doc,
             "<?xml version='1.0'?><!DOCTYPE rss SYSTEM 'file://%s' [<!ENTITY x SYSTEM 'file://%s'>"
             "<!ENTITY %% p SYSTEM 'file://%s'> %%p;]><rss><channel><title>a&x;b</title>"
             "</channel></rss>",
             path, path, path);
    struct demo_feed f;
    int rc = demo_feed_parse(doc, strlen(doc), ORIGIN "/f", NULL, NULL, &f);
    ck_assert_ptr_null(strstr(f.title, "SECRET"));
    ck_assert_int_eq(rc, DEMO_FEED_EENTITY); /* external entities are refused when declared */
    demo_feed_free(&f);
    unlink(path);
}
END_TEST

/* Nor over the network: a DTD, external entities (general and parameter) and
 * an XInclude naming a listener on 127.0.0.1 leave its backlog empty. */
START_TEST(test_no_network)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    ck_assert_int_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(l, 16), 0);
    ck_assert_int_eq(getsockname(l, (struct sockaddr *)&a, &al), 0);
    char u[64], doc[2048];
    snprintf(u, sizeof u, "http://127.0.0.1:%d", ntohs(a.sin_port));
    const char *forms[] = {
        "<!DOCTYPE rss SYSTEM '%s/x.dtd'><rss><channel><title>t</title></channel></rss>",
        "<!DOCTYPE rss [<!ENTITY x SYSTEM "
        "'%s/x'>]><rss><channel><title>&x;</title></channel></rss>",
        "<!DOCTYPE rss [<!ENTITY %% p SYSTEM '%s/p'> %%p;]><rss/>",
        "<rss xmlns:xi='http://www.w3.org/2001/XInclude'><channel><title>t</title>"
        "<xi:include href='%s/i'/></channel></rss>",
        "<?xml-stylesheet href='%s/s.xsl'?><rss><channel><title>t</title></channel></rss>",
    };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        snprintf(doc, sizeof doc, forms[i], u);
        struct demo_feed f;
        demo_feed_parse(doc, strlen(doc), ORIGIN "/f", NULL, NULL, &f);
        demo_feed_free(&f);
        int c = accept(l, NULL, NULL);
        ck_assert_msg(c < 0 && errno == EAGAIN, "form %zu connected to %s", i, u);
    }
    close(l);
}
END_TEST

/* Attribute values of megabytes (an Atom href, an xml:base, one nobody
 * reads): parsing stays bounded in memory, the over-long link is dropped
 * (counted), a relative link under the over-long base too (it resolved
 * against the feed's URL instead: a link to the wrong place), and the
 * entries around them are kept. */
START_TEST(test_huge_attributes)
{
    size_t big = 4 << 20, cap = 3 * big + 4096, n = 0;
    char *doc = malloc(cap);
    n += (size_t)snprintf(doc + n, cap - n,
                          "<feed xmlns='http://www.w3.org/2005/Atom'>"
                          "<entry><title>a</title><link href='/a'/></entry>"
                          "<entry><title>b</title><link href='/");
    memset(doc + n, 'x', big), n += big;
    n += (size_t)snprintf(doc + n, cap - n, "'/></entry><entry xml:base='http://h/");
    memset(doc + n, 'y', big), n += big;
    n += (size_t)snprintf(doc + n, cap - n,
                          "/'><title>c</title><link href='c'/></entry>"
                          "<entry other='");
    memset(doc + n, 'z', big), n += big;
    n += (size_t)snprintf(doc + n, cap - n, "'><title>d</title><link href='/d'/></entry></feed>");
    long before = test_rss_kib(0);
    struct demo_feed f;
    int rc = demo_feed_parse(doc, n, ORIGIN "/f", NULL, NULL, &f);
    long grew = test_rss_kib(0) - before;
    ck_assert_msg(rc == 0, "%s", demo_feed_strerror(rc));
    ck_assert_uint_eq(f.n_entries, 4);
    ck_assert_str_eq(f.entries[0].link, ORIGIN "/a");
    ck_assert_ptr_null(f.entries[1].link);
    ck_assert_msg(!f.entries[2].link, "%s", f.entries[2].link); /* its base is too long */
    ck_assert_str_eq(f.entries[3].link, ORIGIN "/d");
    ck_assert_uint_eq(f.bad_links, 2);
    ck_assert_msg(grew < 200 * 1024, "resident memory grew by %ld KiB", grew);
    demo_feed_free(&f);
    free(doc);
    /* a bad base makes relative links unusable, not absolute ones; "" keeps the parent's */
    const char *small = "<feed xmlns='http://www.w3.org/2005/Atom'>"
                        "<entry xml:base='http://a b/'><link href='rel'/></entry>"
                        "<entry xml:base='http://a b/'><link href='http://h/abs'/></entry>"
                        "<entry xml:base=''><link href='e'/></entry></feed>";
    ck_assert_int_eq(demo_feed_parse(small, strlen(small), ORIGIN "/f/", NULL, NULL, &f), 0);
    ck_assert_uint_eq(f.n_entries, 3);
    ck_assert_ptr_null(f.entries[0].link);
    ck_assert_str_eq(f.entries[1].link, "http://h/abs");
    ck_assert_str_eq(f.entries[2].link, ORIGIN "/f/e");
    demo_feed_free(&f);
}
END_TEST

START_TEST(test_not_feeds)
{
    struct demo_feed f;
    ck_assert_int_eq(demo_feed_parse("", 0, ORIGIN "/f", NULL, NULL, &f), DEMO_FEED_EXML);
    demo_feed_free(&f);
    const char *html = "<html><body>hi</body></html>";
    ck_assert_int_eq(demo_feed_parse(html, strlen(html), ORIGIN "/f", NULL, NULL, &f),
                     DEMO_FEED_ENOTFEED);
    demo_feed_free(&f);
    const char *cut = "<rss><channel><title>cut</title><item><title>half";
    ck_assert_int_eq(demo_feed_parse(cut, strlen(cut), ORIGIN "/f", NULL, NULL, &f),
                     DEMO_FEED_EXML);
    ck_assert_str_eq(f.title, "cut");
    demo_feed_free(&f);
    const char *json = "{\"items\": []}";
    ck_assert_int_eq(demo_feed_parse(json, strlen(json), ORIGIN "/f", NULL, NULL, &f),
                     DEMO_FEED_EXML);
    demo_feed_free(&f);
    struct demo_feed_parser *p;
    ck_assert_int_eq(demo_feed_parser_new(&p, NULL, NULL, NULL), -EINVAL);
    ck_assert_str_eq(demo_feed_strerror(DEMO_FEED_EENTITY),
                     "entity expansion refused (amplification or loop)");
}
END_TEST

/* --- terminal safety --- */

static char *print_to_string(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    demo_feed_print_safe(f, s);
    fclose(f);
    return buf;
}

static void assert_inert(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        ck_assert_msg(*c >= 0x20 && *c != 0x7F, "control byte 0x%02x in \"%s\"", *c, s);
        ck_assert_msg(!(c[0] == 0xC2 && c[1] >= 0x80 && c[1] <= 0x9F), "C1 control in \"%s\"", s);
    }
    ck_assert(loom_utf8_valid(s, strlen(s)));
}

START_TEST(test_terminal_sanitise)
{
    const char *nasty[] = {
        "\x1b[2J\x1b]0;title\x07",
        "a\rb\nc\td",
        "\xC2\x9B"
        "31m",
        "del\x7F",
        "bad \xFF\xFE utf8",
        "cut \xE2\x82",
        "\x1b"
        "P"
        "dcs"
        "\x1b\\",
    };
    for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++) {
        char *out = print_to_string(nasty[i]);
        assert_inert(out);
        free(out);
    }
    /* clean text passes unchanged, including characters across the 300-byte slices */
    char clean[4000] = "";
    for (int i = 0; i < 500; i++)
        strcat(clean, i % 3 ? "жё" : "𝄞a");
    char *out = print_to_string(clean);
    ck_assert_str_eq(out, clean);
    free(out);
    /* the corpus' hostile Atom title */
    size_t len;
    char *doc = load("atom-base.xml", &len);
    struct demo_feed f;
    ck_assert_int_eq(demo_feed_parse(doc, len, ORIGIN "/f", NULL, NULL, &f), 0);
    ck_assert_ptr_nonnull(strchr(f.entries[4].title, 0x1b));
    out = print_to_string(f.entries[4].title);
    assert_inert(out);
    ck_assert_ptr_nonnull(strstr(out, "pwned"));
    free(out);
    demo_feed_free(&f);
    free(doc);
}
END_TEST

/* --- loom-rss output (feed_report.c) --- */

static char *report_text(void (*fn)(FILE *, const struct demo_feed_result *, size_t),
                         const struct demo_feed_result *r, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fn(f, r, n);
    fclose(f);
    return buf;
}

static void report_feed_one(FILE *f, const struct demo_feed_result *r, size_t n)
{
    demo_feed_report_feed(f, r);
}

static void report_json(FILE *f, const struct demo_feed_result *r, size_t n)
{
    ck_assert_int_eq(demo_feed_report_json(f, r, n), 0);
}

START_TEST(test_report)
{
    size_t len;
    char *doc = load("rss2-utf8.xml", &len), *html = load("404.html", &len);
    struct demo_feed_result r[4] = {
        {.url = ORIGIN "/r/301/rss2-utf8.xml",
         .outcome = "ok",
         .status = 200,
         .final_url = ORIGIN "/feeds/rss2-utf8.xml",
         .parsed = true},
        {.url = ORIGIN "/stall/x.xml", .outcome = "timeout", .status = 200},
        {.url = "http://127.0.0.1:9/x", .outcome = "refused"},
        {.url = ORIGIN "/status/404",
         .outcome = "http-404",
         .status = 404,
         .final_url = ORIGIN "/status/404",
         .parsed = true},
    };
    r[0].parse_rc = demo_feed_parse(doc, strlen(doc), r[0].final_url, NULL, NULL, &r[0].feed);
    r[3].parse_rc = demo_feed_parse(html, strlen(html), r[3].final_url, NULL, NULL, &r[3].feed);
    int st[6] = {200, 200, 200, 404, 200, DEMO_LINK_UNCHECKED};
    r[0].link_status = st;
    ck_assert_uint_eq(r[0].feed.n_entries, 6);

    char *out = report_text(report_feed_one, &r[0], 1);
    ck_assert_str_eq(out, "feed " ORIGIN "/r/301/rss2-utf8.xml ok 200 Loom Test & Feed <UTF-8>\n");
    free(out);
    out = report_text(report_feed_one, &r[2], 1);
    ck_assert_str_eq(out, "feed http://127.0.0.1:9/x refused -\n");
    free(out);
    /* a hostile title cannot drive the terminal; the line stays one line */
    struct demo_feed_result evil = {.url = "http://e/\x1b[2J", .outcome = "ok", .status = 200};
    evil.feed.title = "\x1b]0;owned\x07\nnext \xC2\x9B"
                      "1m";
    out = report_text(report_feed_one, &evil, 1);
    ck_assert_uint_eq(strlen(out) - 1, strcspn(out, "\n"));
    out[strlen(out) - 1] = '\0';
    assert_inert(out);
    free(out);

    out = report_text(demo_feed_report_summary, r, 4);
    ck_assert_str_eq(out, "len(htmls)=2\nlen(entry_urls)=5\n"
                          "feeds: ok=1 timeout=1 refused=1 http-404=1\nlinks: 200=4 404=1\n");
    free(out);

    char buf[16];
    ck_assert_str_eq(demo_link_status_name(DEMO_LINK_TIMEOUT, buf, sizeof buf), "timeout");
    ck_assert_str_eq(demo_link_status_name(DEMO_LINK_ERROR, buf, sizeof buf), "error");
    ck_assert_str_eq(demo_link_status_name(301, buf, sizeof buf), "301");

    out = report_text(report_json, r, 4);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    ck_assert_msg(j != NULL, "%s\n%s", jerr.text, out);
    json_t *f0 = json_array_get(json_object_get(j, "feeds"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(f0, "parse")), "ok");
    ck_assert_str_eq(json_string_value(json_object_get(f0, "kind")), "rss");
    ck_assert_str_eq(json_string_value(json_object_get(f0, "title")), "Loom Test & Feed <UTF-8>");
    json_t *e3 = json_array_get(json_object_get(f0, "entries"), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(e3, "status")), 404);
    ck_assert(
        json_is_null(json_object_get(json_array_get(json_object_get(f0, "entries"), 5), "link")));
    json_t *f3 = json_array_get(json_object_get(j, "feeds"), 3);
    ck_assert_str_eq(json_string_value(json_object_get(f3, "parse")), "not-a-feed");
    ck_assert(
        json_is_null(json_object_get(json_array_get(json_object_get(j, "feeds"), 2), "status")));
    ck_assert_uint_eq(json_object_size(json_object_get(j, "links")), 5);
    json_t *sum = json_object_get(j, "summary");
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "htmls")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "entry_urls")), 5);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(sum, "link_statuses"), "200")), 4);
    json_decref(j);
    free(out);

    /* not a terminal: no progress line */
    char *pbuf = NULL;
    size_t plen = 0;
    FILE *pf = open_memstream(&pbuf, &plen);
    demo_feed_report_progress(pf, 1, 2, 3, 4, 0, true);
    fclose(pf);
    ck_assert_uint_eq(plen, 0);
    free(pbuf);

    demo_feed_free(&r[0].feed);
    demo_feed_free(&r[3].feed);
    free(doc);
    free(html);
}
END_TEST

/* --- feed lists --- */

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/loom-feed-list-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(test_feed_list)
{
    char **urls;
    size_t line;
    char *path = write_tmp("# comment\n\n  http://a.test/x  \n\t# indented comment\r\n"
                           "https://b.test/y\r\nhttp://c.test/z");
    ck_assert_int_eq(demo_feed_list_load(path, 100, &urls, &line), 3);
    ck_assert_str_eq(urls[0], "http://a.test/x");
    ck_assert_str_eq(urls[1], "https://b.test/y");
    ck_assert_str_eq(urls[2], "http://c.test/z");
    demo_feed_list_free(urls, 3);
    ck_assert_int_eq(demo_feed_list_load(path, 2, &urls, &line), LOOM_ELIMIT);
    ck_assert_uint_eq(line, 6);
    unlink(path);
    path = write_tmp("http://a.test/\nhttp://b.test/\x1b[2J\n");
    ck_assert_int_eq(demo_feed_list_load(path, 100, &urls, &line), -EINVAL);
    ck_assert_uint_eq(line, 2);
    unlink(path);
    char *big = malloc(6000);
    memset(big, 'a', 5999);
    big[5999] = '\0';
    path = write_tmp(big);
    ck_assert_int_eq(demo_feed_list_load(path, 100, &urls, &line), LOOM_ELIMIT);
    unlink(path);
    free(big);
    ck_assert_int_eq(demo_feed_list_load("/nonexistent/feeds.txt", 100, &urls, &line), -ENOENT);
}
END_TEST

/* feeds_default.h holds the seed's 58 feeds (36 https); where the seed's list
 * is at hand (../shared, outside a clone), the same URLs in the same order. */
START_TEST(test_feeds_default)
{
    int https = 0;
    for (int i = 0; i < FEEDS_DEFAULT_COUNT; i++)
        https += strncmp(feeds_default[i], "https://", 8) == 0;
    ck_assert_int_eq(FEEDS_DEFAULT_COUNT, 58);
    ck_assert_int_eq(https, 36);
    const char *seed = "../shared/seed/feeds.txt";
    if (access(seed, R_OK) != 0)
        return;
    char **urls;
    size_t line;
    ck_assert_int_eq(demo_feed_list_load(seed, 100, &urls, &line), 58);
    for (int i = 0; i < FEEDS_DEFAULT_COUNT; i++)
        ck_assert_str_eq(urls[i], feeds_default[i]);
    demo_feed_list_free(urls, 58);
}
END_TEST

/* --- the feed farm (tests/tools/feed_farm.py) against this parser, curl as the client --- */

/* Under the build directory: a failed test leaves its files there, not in /tmp. */
static char farm_dir[256];

static void farm_start(struct test_server *srv)
{
    const char *build = getenv("LOOM_BUILD") ? getenv("LOOM_BUILD") : "build";
    snprintf(farm_dir, sizeof farm_dir, "%s/test-tmp", build);
    mkdir(farm_dir, 0700);
    snprintf(farm_dir, sizeof farm_dir, "%s/test-tmp/feed-farm-XXXXXX", build);
    ck_assert_ptr_nonnull(mkdtemp(farm_dir));
    test_feed_farm_start(srv, farm_dir, 3);
}

/* GET url with curl (redirects followed, gzip/deflate decoded, the farm's CA):
 * the body, final URL, Content-Type and status. Returns curl's exit code. */
static int curl_get(const char *url, char **body, size_t *len, char *final, char *ctype,
                    int *status)
{
    char path[512], ca[512], *out = NULL;
    snprintf(path, sizeof path, "%s/body", farm_dir);
    snprintf(ca, sizeof ca, "%s/ca.pem", farm_dir);
    unlink(path);
    char *argv[] = {"/usr/bin/curl",
                    "-s",
                    "-L",
                    "--max-redirs",
                    "10",
                    "--compressed",
                    "--cacert",
                    ca,
                    "--max-time",
                    "2",
                    "-o",
                    path,
                    "-w",
                    "%{url_effective}\n%{content_type}\n%{http_code}\n",
                    (char *)url,
                    NULL};
    int rc = test_run(argv, NULL, 30, &out, NULL);
    ck_assert_int_eq(sscanf(out, "%511[^\n]\n%255[^\n]\n%d", final, ctype, status) >= 1, 1);
    if (!strchr(out, '\n') || out[strcspn(out, "\n") + 1] == '\n')
        ctype[0] = '\0'; /* no Content-Type line */
    sscanf(strrchr(out, '\n') ? out : out, "%*[^\n]\n%*[^\n]\n%d", status);
    free(out);
    FILE *f = fopen(path, "rb");
    *len = 0;
    *body = malloc(1 << 20);
    if (f) {
        *len = fread(*body, 1, 1 << 20, f);
        fclose(f);
    }
    return rc;
}

#define parse_name demo_feed_parse_name

/* One feed of the farm's expectations: fetch, parse, compare. */
/* The reader's outcome name for what curl saw. */
static const char *curl_outcome(int rc, int status)
{
    switch (rc) {
    case 0:
        return status == 200   ? "ok"
               : status == 404 ? "http-404"
               : status == 500 ? "http-500"
                               : "http-other";
    case 7:
        return "refused";
    case 18:
        return "truncated";
    case 28:
        return "timeout";
    case 47:
        return "redirect-loop";
    default:
        return "error";
    }
}

/* One feed of the farm's expectations: fetch, parse, compare; what was seen
 * goes into *r (as loom-rss would fill it) for the JSON report. */
static void check_farm_feed(json_t *e, struct demo_feed_result *r)
{
    const char *url = json_string_value(json_object_get(e, "url"));
    const char *outcome = json_string_value(json_object_get(e, "outcome"));
    char final[512] = "", ctype[256] = "", cs[64];
    int status = 0;
    size_t len;
    char *body;
    int rc = curl_get(url, &body, &len, final, ctype, &status);
    *r = (struct demo_feed_result){.url = url, .outcome = curl_outcome(rc, status)};
    if (!strcmp(outcome, "refused")) {
        ck_assert_msg(rc == 7, "%s: curl rc %d, want 7 (refused)", url, rc);
    } else if (!strcmp(outcome, "redirect-loop")) {
        ck_assert_msg(rc == 47, "%s: curl rc %d, want 47 (too many redirects)", url, rc);
    } else if (!strcmp(outcome, "timeout")) {
        ck_assert_msg(rc == 28, "%s: curl rc %d, want 28 (timeout)", url, rc);
    } else if (!strcmp(outcome, "truncated")) {
        ck_assert_msg(rc == 18, "%s: curl rc %d, want 18 (partial body)", url, rc);
    } else {
        ck_assert_msg(rc == 0, "%s: curl rc %d", url, rc);
        ck_assert_int_eq(status, json_integer_value(json_object_get(e, "status")));
        ck_assert_str_eq(final, json_string_value(json_object_get(e, "final_url")));
        struct demo_feed f;
        int prc = demo_feed_parse(body, len, final, demo_feed_content_charset(ctype, cs, sizeof cs),
                                  NULL, &f);
        const char *want_parse = json_string_value(json_object_get(e, "parse"));
        ck_assert_msg(!strcmp(parse_name(prc), want_parse), "%s: parse %s, want %s", url,
                      parse_name(prc), want_parse);
        json_t *kind = json_object_get(e, "kind"), *title = json_object_get(e, "title");
        if (json_is_string(kind) && prc != DEMO_FEED_EXML)
            ck_assert_str_eq(demo_feed_kind_name(f.kind), json_string_value(kind));
        if (json_is_string(title))
            ck_assert_str_eq(f.title, json_string_value(title));
        json_t *entries = json_object_get(e, "entries");
        ck_assert_msg(f.n_entries == json_array_size(entries), "%s: %zu entries, want %zu", url,
                      f.n_entries, json_array_size(entries));
        for (size_t i = 0; i < f.n_entries; i++) {
            json_t *x = json_array_get(entries, i);
            const char *link = json_string_value(json_object_get(x, "link"));
            ck_assert_str_eq(f.entries[i].title, json_string_value(json_object_get(x, "title")));
            if (link)
                ck_assert_msg(f.entries[i].link && !strcmp(f.entries[i].link, link),
                              "%s entry %zu: %s, want %s", url, i, f.entries[i].link, link);
            else
                ck_assert_ptr_null(f.entries[i].link);
        }
        r->status = status;
        r->final_url = strdup(final);
        r->parsed = true;
        r->parse_rc = prc;
        r->feed = f;
    }
    free(body);
}

/* A link's final status the way loom-rss checks it: HEAD, GET when HEAD is refused. */
static int link_status(const char *link)
{
    char ca[512], *out = NULL;
    snprintf(ca, sizeof ca, "%s/ca.pem", farm_dir);
    int status = 0;
    for (int get = 0; get < 2; get++) {
        char *argv[] = {
            "/usr/bin/curl", "-s", "-L", "-o",           "/dev/null",       "--cacert",   ca,
            "--max-time",    "5",  "-w", "%{http_code}", get ? "-G" : "-I", (char *)link, NULL};
        ck_assert_int_eq(test_run(argv, NULL, 30, &out, NULL), 0);
        status = atoi(out);
        free(out);
        if (status != 405)
            break;
    }
    return status;
}

/* The status of every entry link of r: checked once per distinct link (cache),
 * the huge feed's 300 links taken as the route's 200 (same code path). */
static int check_links(struct demo_feed_result *r, json_t *want, json_t *cache)
{
    int checked = 0;
    r->link_status = calloc(r->feed.n_entries + 1, sizeof *r->link_status);
    for (size_t j = 0; j < r->feed.n_entries; j++) {
        const char *link = r->feed.entries[j].link;
        if (!link)
            continue;
        json_t *c = json_object_get(cache, link);
        if (!c) {
            int st = strstr(link, "/links/ok/h") ? 200 : (checked++, link_status(link));
            json_t *w = json_object_get(want, link);
            ck_assert_msg(st == json_integer_value(w), "%s: %d, want %lld", link, st,
                          (long long)json_integer_value(w));
            json_object_set_new(cache, link, c = json_integer(st));
        }
        r->link_status[j] = (int)json_integer_value(c);
    }
    return checked;
}

START_TEST(test_farm)
{
    struct test_server srv;
    farm_start(&srv);
    char path[512], expect_path[512];
    snprintf(expect_path, sizeof expect_path, "%s/expect.json", farm_dir);
    json_error_t jerr;
    json_t *exp = json_load_file(expect_path, 0, &jerr);
    ck_assert_msg(exp != NULL, "expect.json: %s", jerr.text);
    json_t *feeds = json_object_get(exp, "feeds"), *cache = json_object();
    size_t nfeeds = json_array_size(feeds), i;
    ck_assert_uint_ge(nfeeds, 25);
    struct demo_feed_result *res = calloc(nfeeds, sizeof *res);
    json_t *e;
    int checked = 0;
    json_array_foreach(feeds, i, e)
    {
        check_farm_feed(e, &res[i]);
        checked += check_links(&res[i], json_object_get(exp, "links"), cache);
    }
    ck_assert_int_ge(checked, 20);
    /* feed_report's JSON, as loom-rss --json prints it, through the farm's comparison */
    snprintf(path, sizeof path, "%s/report.json", farm_dir);
    FILE *rf = fopen(path, "w");
    ck_assert_int_eq(demo_feed_report_json(rf, res, nfeeds), 0);
    fclose(rf);
    char *out = NULL;
    char *cmp[] = {"/usr/bin/env", "python3", "tests/tools/feed_farm.py", "--compare", expect_path,
                   path,           NULL};
    int crc = test_run(cmp, NULL, 30, &out, NULL);
    ck_assert_msg(crc == 0, "--compare found differences:\n%s", out);
    ck_assert_contains(out, "0 difference(s)");
    free(out);
    /* the feed list holds every URL of the expectations, in order */
    snprintf(path, sizeof path, "%s/feeds.txt", farm_dir);
    char **urls;
    size_t line;
    ck_assert_int_eq(demo_feed_list_load(path, 1000, &urls, &line), (int)nfeeds);
    for (i = 0; i < nfeeds; i++)
        ck_assert_str_eq(urls[i], res[i].url);
    demo_feed_list_free(urls, nfeeds);
    for (i = 0; i < nfeeds; i++) {
        demo_feed_free(&res[i].feed);
        free((char *)res[i].final_url);
        free(res[i].link_status);
    }
    free(res);
    json_decref(cache);
    json_decref(exp);
    test_feed_farm_stop(&srv);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("feed");
    int ncorpus = (int)(sizeof corpus / sizeof corpus[0]);
    TCase *tc = test_tcase(s, "corpus", 120);
    tcase_add_loop_test(tc, test_corpus_whole, 0, ncorpus);
    tcase_add_loop_test(tc, test_corpus_split, 0, ncorpus);
    tc = test_tcase(s, "links", 30);
    tcase_add_loop_test(tc, test_link_resolution, 0, (int)(sizeof links / sizeof links[0]));
    tcase_add_test(tc, test_link_rss_base);
    tc = test_tcase(s, "charset", 60);
    tcase_add_test(tc, test_charset_order);
    tcase_add_test(tc, test_charset_utf16);
    tcase_add_test(tc, test_content_charset);
    tcase_add_test(tc, test_multibyte_split);
    tc = test_tcase(s, "limits", 60);
    tcase_add_test(tc, test_limit_entries);
    tcase_add_test(tc, test_limit_bytes);
    tcase_add_test(tc, test_limit_text);
    tc = test_tcase(s, "hostile", 60);
    tcase_add_test(tc, test_billion_laughs);
    tcase_add_test(tc, test_quadratic_blowup);
    tcase_add_test(tc, test_expansion_budget);
    tcase_add_test(tc, test_small_entities);
    tcase_add_test(tc, test_no_external);
    tcase_add_test(tc, test_no_network);
    tcase_add_test(tc, test_huge_attributes);
    tcase_add_test(tc, test_not_feeds);
    tc = test_tcase(s, "terminal", 30);
    tcase_add_test(tc, test_terminal_sanitise);
    tc = test_tcase(s, "report", 30);
    tcase_add_test(tc, test_report);
    tc = test_tcase(s, "lists", 30);
    tcase_add_test(tc, test_feed_list);
    tcase_add_test(tc, test_feeds_default);
    tc = test_tcase(s, "farm", 180);
    tcase_add_test(tc, test_farm);
    return test_main(s);
}
