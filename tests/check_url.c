/* check_url.c - net/url.h: parsing, RFC 3986 §5.4 resolution examples, output helpers. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "harness/harness.h"
#include "net/url.h"

static const char *const BASE = "http://a/b/c/d;p?q";

/* RFC 3986 §5.4.1 (normal) and §5.4.2 (abnormal), every example. */
static const struct {
    const char *ref, *want;
} rfc_examples[] = {
    {"g:h", "g:h"},
    {"g", "http://a/b/c/g"},
    {"./g", "http://a/b/c/g"},
    {"g/", "http://a/b/c/g/"},
    {"/g", "http://a/g"},
    {"//g", "http://g"},
    {"?y", "http://a/b/c/d;p?y"},
    {"g?y", "http://a/b/c/g?y"},
    {"#s", "http://a/b/c/d;p?q#s"},
    {"g#s", "http://a/b/c/g#s"},
    {"g?y#s", "http://a/b/c/g?y#s"},
    {";x", "http://a/b/c/;x"},
    {"g;x", "http://a/b/c/g;x"},
    {"g;x?y#s", "http://a/b/c/g;x?y#s"},
    {"", "http://a/b/c/d;p?q"},
    {".", "http://a/b/c/"},
    {"./", "http://a/b/c/"},
    {"..", "http://a/b/"},
    {"../", "http://a/b/"},
    {"../g", "http://a/b/g"},
    {"../..", "http://a/"},
    {"../../", "http://a/"},
    {"../../g", "http://a/g"},
    /* §5.4.2 */
    {"../../../g", "http://a/g"},
    {"../../../../g", "http://a/g"},
    {"/./g", "http://a/g"},
    {"/../g", "http://a/g"},
    {"g.", "http://a/b/c/g."},
    {".g", "http://a/b/c/.g"},
    {"g..", "http://a/b/c/g.."},
    {"..g", "http://a/b/c/..g"},
    {"./../g", "http://a/b/g"},
    {"./g/.", "http://a/b/c/g/"},
    {"g/./h", "http://a/b/c/g/h"},
    {"g/../h", "http://a/b/c/h"},
    {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
    {"g;x=1/../y", "http://a/b/c/y"},
    {"g?y/./x", "http://a/b/c/g?y/./x"},
    {"g?y/../x", "http://a/b/c/g?y/../x"},
    {"g#s/./x", "http://a/b/c/g#s/./x"},
    {"g#s/../x", "http://a/b/c/g#s/../x"},
};

static void expect_resolve(const char *base, const char *ref, const char *want)
{
    struct loom_url b, r;
    char out[256];
    ck_assert_int_eq(loom_url_parse(&b, base, (size_t)-1), 0);
    int rc = loom_url_resolve(&r, &b, ref, strlen(ref));
    ck_assert_msg(rc == 0, "resolve \"%s\": %s", ref, loom_url_strerror(rc));
    ck_assert_int_gt(loom_url_format(&r, out, sizeof out), 0);
    ck_assert_msg(strcmp(out, want) == 0, "\"%s\" -> \"%s\", want \"%s\"", ref, out, want);
    loom_url_close(&r);
    loom_url_close(&b);
}

START_TEST(rfc3986_examples)
{
    for (size_t i = 0; i < sizeof rfc_examples / sizeof rfc_examples[0]; i++)
        expect_resolve(BASE, rfc_examples[i].ref, rfc_examples[i].want);
}
END_TEST

/* §5.4.2 "http:g": a strict parser gives "http:g", an http URL with no host,
 * which loom refuses (an http URL needs a host). */
START_TEST(rfc3986_http_g)
{
    struct loom_url b, r;
    ck_assert_int_eq(loom_url_parse(&b, BASE, (size_t)-1), 0);
    ck_assert_int_eq(loom_url_resolve(&r, &b, "http:g", 6), LOOM_URL_EEMPTYHOST);
    ck_assert_ptr_null(r._buf);
    loom_url_close(&b);
}
END_TEST

START_TEST(resolve_more)
{
    expect_resolve("http://a", "g", "http://a/g");
    expect_resolve("http://a", "?x", "http://a?x");
    expect_resolve("https://u@h:8443/x/y?q#f", "z", "https://u@h:8443/x/z");
    expect_resolve("https://h/x/y", "//other:81/p", "https://other:81/p");
    expect_resolve("https://h/x/y", "HTTP://New/P", "http://new/P");
    expect_resolve("https://h/x/y", "a b/ü", "https://h/x/a%20b/%C3%BC");
    expect_resolve("http://[::1]:8080/a/b", "../c", "http://[::1]:8080/c");
    /* A path starting "//" with no authority keeps a "/." in front (RFC 3986 §5.3). */
    expect_resolve("g:/a", "/..//x", "g:/.//x");
    expect_resolve("g:/a", ".//x", "g:/.//x");
}
END_TEST

START_TEST(parse_components)
{
    struct loom_url u;
    const char *s = "HTTPS://user:pw@Example.COM:8443/a/./b/../c?x=1&y#frag";
    ck_assert_int_eq(loom_url_parse(&u, s, strlen(s)), 0);
    ck_assert_str_eq(u.scheme, "https");
    ck_assert_str_eq(u.userinfo, "user:pw");
    ck_assert_str_eq(u.host, "example.com");
    ck_assert_int_eq(u.port, 8443);
    ck_assert(u.port_explicit);
    ck_assert(!u.host_ipv6);
    ck_assert_str_eq(u.path, "/a/c");
    ck_assert_str_eq(u.query, "x=1&y");
    ck_assert_str_eq(u.fragment, "frag");
    ck_assert(loom_url_is_tls(&u));
    loom_url_close(&u);

    ck_assert_int_eq(loom_url_parse(&u, "http://h", (size_t)-1), 0);
    ck_assert_ptr_null(u.userinfo);
    ck_assert_str_eq(u.path, "");
    ck_assert_ptr_null(u.query);
    ck_assert_ptr_null(u.fragment);
    ck_assert_int_eq(u.port, 80);
    ck_assert(!u.port_explicit);
    ck_assert(!loom_url_is_tls(&u));
    loom_url_close(&u);

    ck_assert_int_eq(loom_url_parse(&u, "http://h/?#", (size_t)-1), 0);
    ck_assert_str_eq(u.query, "");
    ck_assert_str_eq(u.fragment, "");
    loom_url_close(&u);

    ck_assert_int_eq(loom_url_parse(&u, "mailto:a@b", (size_t)-1), 0);
    ck_assert_ptr_null(u.host);
    ck_assert_str_eq(u.path, "a@b");
    ck_assert_int_eq(u.port, 0);
    loom_url_close(&u);

    ck_assert_int_eq(loom_url_parse(&u, "file:///etc/hosts", (size_t)-1), 0);
    ck_assert_str_eq(u.host, "");
    ck_assert_str_eq(u.path, "/etc/hosts");
    loom_url_close(&u);
}
END_TEST

START_TEST(default_ports)
{
    static const struct {
        const char *url;
        int port;
    } cases[] = {
        {"http://h/", 80},  {"https://h/", 443},    {"ws://h/", 80}, {"wss://h/", 443},
        {"http://h:/", 80}, {"http://h:0081/", 81}, {"foo://h/", 0}, {"https://h:65535", 65535},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct loom_url u;
        ck_assert_int_eq(loom_url_parse(&u, cases[i].url, (size_t)-1), 0);
        ck_assert_msg(u.port == cases[i].port, "%s: port %d", cases[i].url, u.port);
        loom_url_close(&u);
    }
}
END_TEST

START_TEST(ipv6)
{
    struct loom_url u;
    char buf[128];
    ck_assert_int_eq(loom_url_parse(&u, "http://[2001:DB8::1]:8080/p?q", (size_t)-1), 0);
    ck_assert_str_eq(u.host, "2001:db8::1");
    ck_assert(u.host_ipv6);
    ck_assert_int_eq(loom_url_host_header(&u, buf, sizeof buf), 18);
    ck_assert_str_eq(buf, "[2001:db8::1]:8080");
    loom_url_origin(&u, buf, sizeof buf);
    ck_assert_str_eq(buf, "http://[2001:db8::1]:8080");
    loom_url_format(&u, buf, sizeof buf);
    ck_assert_str_eq(buf, "http://[2001:db8::1]:8080/p?q");
    loom_url_close(&u);

    ck_assert_int_eq(loom_url_parse(&u, "https://[::1]/", (size_t)-1), 0);
    loom_url_host_header(&u, buf, sizeof buf);
    ck_assert_str_eq(buf, "[::1]");
    loom_url_close(&u);
}
END_TEST

START_TEST(helpers)
{
    struct loom_url u;
    char buf[128];
    ck_assert_int_eq(loom_url_parse(&u, "https://Example.COM", (size_t)-1), 0);
    ck_assert_int_eq(loom_url_origin(&u, buf, sizeof buf), 23);
    ck_assert_str_eq(buf, "https://example.com:443");
    ck_assert_int_eq(loom_url_target(&u, buf, sizeof buf), 1);
    ck_assert_str_eq(buf, "/");
    loom_url_host_header(&u, buf, sizeof buf);
    ck_assert_str_eq(buf, "example.com");
    loom_url_close(&u);

    ck_assert_int_eq(loom_url_parse(&u, "http://h:8080/a/b?c=d#e", (size_t)-1), 0);
    loom_url_target(&u, buf, sizeof buf);
    ck_assert_str_eq(buf, "/a/b?c=d");
    loom_url_host_header(&u, buf, sizeof buf);
    ck_assert_str_eq(buf, "h:8080");
    loom_url_close(&u);

    /* An explicit default port is dropped when serialising (RFC 3986 §6.2.3). */
    ck_assert_int_eq(loom_url_parse(&u, "http://h:80?x", (size_t)-1), 0);
    loom_url_format(&u, buf, sizeof buf);
    ck_assert_str_eq(buf, "http://h?x");
    loom_url_target(&u, buf, sizeof buf);
    ck_assert_str_eq(buf, "/?x");
    /* Too small: -ENOSPC, exact fit works. */
    ck_assert_int_eq(loom_url_format(&u, buf, 10), -ENOSPC);
    ck_assert_int_eq(loom_url_format(&u, buf, 11), 10);
    ck_assert_int_eq(loom_url_target(&u, buf, 0), -ENOSPC);
    loom_url_close(&u);
}
END_TEST

START_TEST(encoding)
{
    struct loom_url u;
    char buf[256];
    const char *s = "http://h/a b/\xc3\xa9t\xc3\xa9?q=\"<x>\"&z={|}#f g";
    ck_assert_int_eq(loom_url_parse(&u, s, strlen(s)), 0);
    loom_url_format(&u, buf, sizeof buf);
    ck_assert_str_eq(buf, "http://h/a%20b/%C3%A9t%C3%A9?q=%22%3Cx%3E%22&z=%7B%7C%7D#f%20g");
    loom_url_close(&u);
    /* Existing escapes are kept as written. */
    ck_assert_int_eq(loom_url_parse(&u, "http://h/%7e%2F", (size_t)-1), 0);
    ck_assert_str_eq(u.path, "/%7e%2F");
    loom_url_close(&u);
}
END_TEST

START_TEST(errors)
{
    static const struct {
        const char *url;
        int err;
    } cases[] = {
        {"//h/x", LOOM_URL_ENOSCHEME},
        {"/x", LOOM_URL_ENOSCHEME},
        {"", LOOM_URL_ENOSCHEME},
        {"1http://h/", LOOM_URL_ESCHEME},
        {"ht tp://h/", LOOM_URL_ESCHEME},
        {":x", LOOM_URL_ESCHEME},
        {"http://h/\x01", LOOM_URL_ECTRL},
        {"http://h/\x7f", LOOM_URL_ECTRL},
        {"http://h/a\tb", LOOM_URL_ECTRL},
        {"http://h/a\r\nHost: evil", LOOM_URL_ECTRL},
        {"http:///x", LOOM_URL_EEMPTYHOST},
        {"https:x", LOOM_URL_EEMPTYHOST},
        {"http://u@:80/", LOOM_URL_EEMPTYHOST},
        {"http://h:65536/", LOOM_URL_EPORT},
        {"http://h:99999999999999999999/", LOOM_URL_EPORT},
        {"http://h:8x/", LOOM_URL_EPORT},
        {"http://h:-1/", LOOM_URL_EPORT},
        {"http://h:1:2/", LOOM_URL_EPORT},
        {"http://h\xc3\xa9.com/", LOOM_URL_EIDNA},
        {"http://h<x>/", LOOM_URL_EHOST},
        {"http://h x/", LOOM_URL_EHOST},
        {"http://[::1/", LOOM_URL_EHOST},
        {"http://[]/", LOOM_URL_EHOST},
        {"http://[::1]x/", LOOM_URL_EHOST},
        {"http://[v1.x]/", LOOM_URL_EHOST},
        {"http://h/%", LOOM_URL_EPERCENT},
        {"http://h/%4", LOOM_URL_EPERCENT},
        {"http://h/%zz", LOOM_URL_EPERCENT},
        {"http://h/?%g0", LOOM_URL_EPERCENT},
        {"http://h%2/", LOOM_URL_EPERCENT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct loom_url u;
        int rc = loom_url_parse(&u, cases[i].url, strlen(cases[i].url));
        ck_assert_msg(rc == cases[i].err, "\"%s\": got %d (%s), want %d", cases[i].url, rc,
                      loom_url_strerror(rc), cases[i].err);
        ck_assert_ptr_null(u._buf);
        loom_url_close(&u); /* harmless after a failure */
    }
    /* A NUL inside an explicit length is a control character too. */
    struct loom_url u;
    ck_assert_int_eq(loom_url_parse(&u, "http://h/a\0b", 12), LOOM_URL_ECTRL);
    ck_assert_str_eq(loom_url_strerror(LOOM_URL_EIDNA),
                     "non-ASCII host name (IDNA is not supported)");
}
END_TEST

START_TEST(too_long)
{
    static char s[LOOM_URL_MAX + 2];
    struct loom_url u;
    memset(s, 'a', sizeof s - 1);
    memcpy(s, "http://h/", 9);
    ck_assert_int_eq(loom_url_parse(&u, s, (size_t)-1), LOOM_URL_ETOOLONG);
    s[LOOM_URL_MAX] = '\0';
    ck_assert_int_eq(loom_url_parse(&u, s, (size_t)-1), 0);
    ck_assert_int_eq(strlen(u.path), LOOM_URL_MAX - 8);
    loom_url_close(&u);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("url");
    const struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"rfc3986_examples", rfc3986_examples},
        {"rfc3986_http_g", rfc3986_http_g},
        {"resolve_more", resolve_more},
        {"parse_components", parse_components},
        {"default_ports", default_ports},
        {"ipv6", ipv6},
        {"helpers", helpers},
        {"encoding", encoding},
        {"errors", errors},
        {"too_long", too_long},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = test_tcase(s, cases[i].name, 20);
        tcase_add_test(tc, cases[i].fn);
    }
    return test_main(s);
}
