/* check_utf8.c - the UTF-8 validator on the classic decoder stress cases
 * (boundaries, overlongs, surrogates, > U+10FFFF, lone and missing continuation
 * bytes), every input fed whole, split at every point, and byte by byte, each
 * against a guard page; and the terminal sanitiser. */
#include "harness/harness.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "net/utf8.h"

struct ucase {
    const char *name;
    const char *s;
    size_t len; /* 0: strlen(s) */
    bool valid;
};

#define V(name, s)                                                                                 \
    {                                                                                              \
        name, s, sizeof(s) - 1, true                                                               \
    }
#define X(name, s)                                                                                 \
    {                                                                                              \
        name, s, sizeof(s) - 1, false                                                              \
    }

static const struct ucase cases[] = {
    V("empty", ""),
    V("ascii", "hello, world"),
    V("ascii_long", "0123456789abcdef0123456789abcdef0123456789"),
    V("nul", "a\0b"),
    V("kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),
    V("first_2", "\xc2\x80"),
    V("first_3", "\xe0\xa0\x80"),
    V("first_4", "\xf0\x90\x80\x80"),
    V("last_1", "\x7f"),
    V("last_2", "\xdf\xbf"),
    V("last_3", "\xef\xbf\xbf"),
    V("max_cp", "\xf4\x8f\xbf\xbf"),
    V("before_surrogates", "\xed\x9f\xbf"),
    V("after_surrogates", "\xee\x80\x80"),
    V("fffd", "\xef\xbf\xbd"),
    V("noncharacter_fffe", "\xef\xbf\xbe"),
    V("mixed", "a\xc3\xa9z\xe2\x82\xac\xf0\x9f\x98\x80 ok 12345678"),
    X("over_max", "\xf4\x90\x80\x80"),
    X("f5", "\xf5\x80\x80\x80"),
    X("ff", "\xff"),
    X("fe", "\xfe"),
    X("lone_cont", "\x80"),
    X("lone_cont_bf", "\xbf"),
    X("cont_after_ascii", "abc\x80"),
    X("two_conts", "\x80\xbf"),
    X("lead_then_ascii", "\xc2 "),
    X("lead3_then_ascii", "\xe0\xa0 "),
    X("truncated_2", "\xc2"),
    X("truncated_3", "\xe2\x82"),
    X("truncated_4", "\xf0\x9f\x98"),
    X("truncated_mid", "\xe2\x82"
                       "abc"),
    X("overlong_slash_2", "\xc0\xaf"),
    X("overlong_slash_3", "\xe0\x80\xaf"),
    X("overlong_slash_4", "\xf0\x80\x80\xaf"),
    X("overlong_max_2", "\xc1\xbf"),
    X("overlong_max_3", "\xe0\x9f\xbf"),
    X("overlong_max_4", "\xf0\x8f\xbf\xbf"),
    X("overlong_nul", "\xc0\x80"),
    X("surrogate_d800", "\xed\xa0\x80"),
    X("surrogate_dbff", "\xed\xaf\xbf"),
    X("surrogate_dc00", "\xed\xb0\x80"),
    X("surrogate_dfff", "\xed\xbf\xbf"),
    X("surrogate_pair", "\xed\xa0\x80\xed\xb0\x80"),
    X("five_byte", "\xf8\x88\x80\x80\x80"),
    X("six_byte", "\xfc\x84\x80\x80\x80\x80"),
    X("valid_then_bad", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
                        "edited"),
    X("bad_after_8_ascii", "12345678\xff"),
};

/* A copy of len bytes that ends right before a PROT_NONE page. */
struct guard {
    uint8_t *map;
    size_t size;
};

static const uint8_t *guarded(struct guard *g, const void *data, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    g->size = page * 2;
    g->map = mmap(NULL, g->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(g->map, MAP_FAILED);
    ck_assert_int_eq(mprotect(g->map + page, page, PROT_NONE), 0);
    uint8_t *p = g->map + page - len;
    memcpy(p, data, len);
    return p;
}

static void unguard(struct guard *g) { munmap(g->map, g->size); }

START_TEST(test_table)
{
    const struct ucase *c = &cases[_i];
    struct guard g;
    const uint8_t *p = guarded(&g, c->s, c->len);
    ck_assert_msg(loom_utf8_valid(p, c->len) == c->valid, "%s: one shot", c->name);
    for (size_t cut = 0; cut <= c->len; cut++) {
        struct loom_utf8 v;
        loom_utf8_init(&v);
        bool ok = loom_utf8_feed(&v, p, cut);
        ok = loom_utf8_feed(&v, p + cut, c->len - cut) && ok;
        ck_assert_msg((ok && loom_utf8_complete(&v)) == c->valid, "%s: split at %zu", c->name, cut);
    }
    struct loom_utf8 v;
    loom_utf8_init(&v);
    bool ok = true;
    for (size_t i = 0; i < c->len; i++)
        ok = loom_utf8_feed(&v, p + i, 1) && ok;
    ck_assert_msg((ok && loom_utf8_complete(&v)) == c->valid, "%s: byte by byte", c->name);
    unguard(&g);
}
END_TEST

/* Every code point from U+0000 to U+10FFFF, surrogates excluded, encodes to
 * valid UTF-8; every surrogate encoding is refused. */
START_TEST(test_all_code_points)
{
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        uint8_t b[4];
        size_t n;
        if (cp < 0x80) {
            b[0] = (uint8_t)cp;
            n = 1;
        } else if (cp < 0x800) {
            b[0] = (uint8_t)(0xC0 | cp >> 6);
            b[1] = (uint8_t)(0x80 | (cp & 0x3F));
            n = 2;
        } else if (cp < 0x10000) {
            b[0] = (uint8_t)(0xE0 | cp >> 12);
            b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
            b[2] = (uint8_t)(0x80 | (cp & 0x3F));
            n = 3;
        } else {
            b[0] = (uint8_t)(0xF0 | cp >> 18);
            b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
            b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
            b[3] = (uint8_t)(0x80 | (cp & 0x3F));
            n = 4;
        }
        bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
        if (loom_utf8_valid(b, n) == surrogate)
            ck_abort_msg("U+%04X: wrong verdict", cp);
    }
}
END_TEST

/* Invalid stays invalid: the validator is sticky after an error. */
START_TEST(test_sticky)
{
    struct loom_utf8 v;
    loom_utf8_init(&v);
    ck_assert(!loom_utf8_feed(&v, "\xff", 1));
    ck_assert(!loom_utf8_feed(&v, "abc", 3));
    ck_assert(!loom_utf8_complete(&v));
    loom_utf8_init(&v);
    ck_assert(loom_utf8_feed(&v, "\xe2", 1));
    ck_assert(!loom_utf8_complete(&v));
    ck_assert(loom_utf8_feed(&v, "\x82\xac", 2));
    ck_assert(loom_utf8_complete(&v));
}
END_TEST

struct scase {
    const char *name;
    const char *in;
    size_t len;
    uint32_t allow;
    const char *out;
};

#define S(name, in, allow, out)                                                                    \
    {                                                                                              \
        name, in, sizeof(in) - 1, allow, out                                                       \
    }

static const struct scase scases[] = {
    S("plain", "hello", 0, "hello"),
    S("utf8_kept", "caf\xc3\xa9 \xe2\x82\xac", 0, "caf\xc3\xa9 \xe2\x82\xac"),
    S("esc_csi", "\x1b[31mred", 0, "\xe2\x90\x9b[31mred"),
    S("esc_even_if_allowed", "\x1b]0;t\x07", 0xFFFFFFFFu, "\xe2\x90\x9b]0;t\x07"),
    S("c1_csi",
      "a\xc2\x9b"
      "2J",
      0,
      "a\xef\xbf\xbd"
      "2J"),
    S("c1_nel", "\xc2\x85", 0, "\xef\xbf\xbd"),
    S("nbsp_kept", "\xc2\xa0", 0, "\xc2\xa0"),
    S("del", "a\x7f", 0, "a\xe2\x90\xa1"),
    S("tab_allowed", "a\tb\n", LOOM_UTF8_ALLOW_TAB, "a\tb\xe2\x90\x8a"),
    S("nl_allowed", "a\r\nb", LOOM_UTF8_ALLOW_LF, "a\xe2\x90\x8d\nb"),
    S("nul", "a\0b", 0,
      "a\xe2\x90\x80"
      "b"),
    S("bell", "\x07", 0, "\xe2\x90\x87"),
    S("invalid_byte",
      "a\xff"
      "b",
      0,
      "a\xef\xbf\xbd"
      "b"),
    S("overlong_two_fffd", "\xc0\xaf", 0, "\xef\xbf\xbd\xef\xbf\xbd"),
    S("truncated_one_fffd", "x\xe2\x82", 0, "x\xef\xbf\xbd"),
    S("truncated_mid", "\xe2\x82z", 0, "\xef\xbf\xbdz"),
    S("surrogate", "\xed\xa0\x80", 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"),
    S("emoji", "\xf0\x9f\x98\x80", 0, "\xf0\x9f\x98\x80"),
    S("bidi_rlo", "a\xe2\x80\xaegnp.exe", 0, "a\xef\xbf\xbdgnp.exe"),
    S("bidi_all",
      "\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81"
      "\xa9",
      0,
      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf"
      "\xbd"),
    S("bidi_marks_kept", "\xe2\x80\x8e\xe2\x80\x8f\xe2\x80\xa9\xe2\x81\xa5\xe2\x81\xaa", 0,
      "\xe2\x80\x8e\xe2\x80\x8f\xe2\x80\xa9\xe2\x81\xa5\xe2\x81\xaa"),
};

START_TEST(test_sanitize)
{
    const struct scase *c = &scases[_i];
    char out[256];
    struct guard g;
    const uint8_t *p = guarded(&g, c->in, c->len);
    size_t n = loom_utf8_sanitize(out, sizeof out, p, c->len, c->allow);
    ck_assert_msg(n == strlen(c->out) && memcmp(out, c->out, n) == 0 && out[n] == 0,
                  "%s: got \"%s\"", c->name, out);
    ck_assert(loom_utf8_valid(out, n));
    /* The worst case bound always suffices. */
    ck_assert_uint_le(n + 1, LOOM_UTF8_SANITIZE_MAX(c->len));
    unguard(&g);
}
END_TEST

/* Output that does not fit stops at a whole character and is NUL-terminated. */
START_TEST(test_sanitize_truncates)
{
    char out[8];
    size_t n = loom_utf8_sanitize(out, 6, "ab\xe2\x82\xac\xe2\x82\xac", 8, 0);
    ck_assert_uint_eq(n, 5);
    ck_assert_str_eq(out, "ab\xe2\x82\xac");
    n = loom_utf8_sanitize(out, 4, "ab\x1b", 3, 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(out, "ab");
    ck_assert_uint_eq(loom_utf8_sanitize(out, 1, "abc", 3, 0), 0);
    ck_assert_str_eq(out, "");
    /* Every byte value, alone: the output never holds ESC, C1 or invalid UTF-8. */
    for (int b = 0; b < 256; b++) {
        char in[3] = {'x', (char)b, 'y'}, o[LOOM_UTF8_SANITIZE_MAX(3)];
        n = loom_utf8_sanitize(o, sizeof o, in, 3, LOOM_UTF8_ALLOW_TAB);
        ck_assert(loom_utf8_valid(o, n));
        ck_assert_ptr_null(memchr(o, 0x1b, n));
        ck_assert_ptr_null(strstr(o, "\xc2\x9b"));
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = test_tcase(s, "validate", 60);
    tcase_add_loop_test(tc, test_table, 0, sizeof cases / sizeof cases[0]);
    tcase_add_test(tc, test_all_code_points);
    tcase_add_test(tc, test_sticky);
    tc = test_tcase(s, "sanitize", 20);
    tcase_add_loop_test(tc, test_sanitize, 0, sizeof scases / sizeof scases[0]);
    tcase_add_test(tc, test_sanitize_truncates);
    return test_main(s);
}
