/* check_app_rss.c - loom-rss as a process against the local feed farm
 * (tests/tools/feed_farm.py, HTTP and HTTPS with a CA made at run time): its
 * JSON report holds no difference from the farm's expectations; the plain
 * output carries every fact and the seed's counts; a stalled body costs at
 * most the timeout; without the CA the https feeds fail with a certificate
 * outcome while the http ones succeed; bad arguments exit 2 naming the
 * argument, setup failures exit 1; escape sequences from a feed never reach
 * the output raw. */
#include "harness/farm.h"
#include "harness/harness.h"
#include "net/http.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256]; /* under the build directory: a failed test leaves its files there */
static char bin[512];

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

static void make_dir(void)
{
    const char *build = getenv("LOOM_BUILD") ? getenv("LOOM_BUILD") : "build";
    snprintf(dir, sizeof dir, "%s/test-tmp", build);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/test-tmp/rss-XXXXXX", build);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    test_build_path("bin/loom-rss", bin, sizeof bin);
    ck_assert_msg(access(bin, X_OK) == 0, "%s is not built", bin);
}

static void remove_dir(void)
{
    char *argv[] = {"/bin/rm", "-rf", dir, NULL};
    test_run_ok(argv);
}

/* Stop a server the test started (SIGTERM, then its exit, bounded). */
static void server_stop(struct test_server *srv)
{
    kill(srv->pid, SIGTERM);
    test_server_wait(srv, 10);
}

/* Serve the directory www with loom-http and write DIR/<feed>.txt, a feed
 * list naming www's file feed, into list. */
static void serve_feed(struct test_server *web, const char *www, const char *feed, char *list,
                       size_t cap)
{
    char http[512], name[128];
    test_build_path("bin/loom-http", http, sizeof http);
    char *sargv[] = {http, "--root", (char *)www, "--port", "0", NULL};
    test_server_start(web, sargv);
    snprintf(name, sizeof name, "%s.txt", feed);
    path_in(list, cap, name);
    FILE *fl = fopen(list, "w");
    ck_assert_ptr_nonnull(fl);
    fprintf(fl, "http://127.0.0.1:%d/%s\n", web->port, feed);
    fclose(fl);
}

/* The farm, HTTP + HTTPS; the stalled body drips for longer than any timeout
 * used here, so it ends as "timeout", never as a short body. */
static void farm_start(struct test_server *srv) { test_feed_farm_start(srv, dir, 60); }

/* Run loom-rss with args (NULL-terminated, after the program), stdout into
 * DIR/NAME.out and stderr into DIR/NAME.err (so --json stays parseable);
 * returns the exit status and the seconds it took; out and err get the text. */
static int rss(const char *name, char **out, char **err, double *secs, const char *const *args)
{
    char cmd[4096], o[600], e[600];
    snprintf(o, sizeof o, "%s/%s.out", dir, name);
    snprintf(e, sizeof e, "%s/%s.err", dir, name);
    int n = snprintf(cmd, sizeof cmd, "exec '%s'", bin);
    for (; *args; args++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " '%s'", *args);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " >'%s' 2>'%s'", o, e);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL}, *merged = NULL;
    int rc = test_run(argv, NULL, 120, &merged, secs);
    free(merged);
    const char *paths[2] = {o, e};
    char **dst[2] = {out, err};
    for (int i = 0; i < 2; i++) {
        if (!dst[i])
            continue;
        FILE *f = fopen(paths[i], "rb");
        ck_assert_ptr_nonnull(f);
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        rewind(f);
        *dst[i] = calloc(1, (size_t)len + 1);
        ck_assert_uint_eq(fread(*dst[i], 1, (size_t)len, f), (size_t)len);
        fclose(f);
    }
    return rc;
}

#define RSS(name, out, err, secs, ...)                                                             \
    rss((name), (out), (err), (secs), (const char *[]){__VA_ARGS__, NULL})

static json_t *load_expect(void)
{
    char p[512];
    path_in(p, sizeof p, "expect.json");
    json_error_t jerr;
    json_t *exp = json_load_file(p, 0, &jerr);
    ck_assert_msg(exp != NULL, "expect.json: %s", jerr.text);
    return exp;
}

/* --json against the farm: feed_farm.py --compare finds no difference. */
START_TEST(test_farm_json)
{
    make_dir();
    struct test_server srv;
    farm_start(&srv);
    char list[512], ca[512], report[512], expect[512];
    path_in(list, sizeof list, "feeds.txt");
    path_in(ca, sizeof ca, "ca.pem");
    path_in(report, sizeof report, "json.out");
    path_in(expect, sizeof expect, "expect.json");
    char *out, *err;
    double secs;
    int rc = RSS("json", &out, &err, &secs, "--feeds", list, "--ca-file", ca, "--json", "--timeout",
                 "2");
    ck_assert_msg(rc == 0, "loom-rss exited %d:\n%s", rc, err);
    ck_assert_msg(out[0] == '{', "not JSON:\n%.400s", out);
    char *cmp_out = NULL;
    char *cmp[] = {
        "/usr/bin/python3", "tests/tools/feed_farm.py", "--compare", expect, report, NULL};
    int crc = test_run(cmp, NULL, 60, &cmp_out, NULL);
    ck_assert_msg(crc == 0, "--compare found differences:\n%s", cmp_out);
    ck_assert_contains(cmp_out, "0 difference(s)");
    /* the reasons went to stderr, sanitised, one a line */
    ck_assert_contains(err, "redirect loop");
    ck_assert_contains(err, "/stall/rss2-utf8.xml: ");
    ck_assert_msg(secs < 2 + 2 * 2 + 10, "took %.1f s", secs);
    free(cmp_out);
    free(out);
    free(err);
    test_feed_farm_stop(&srv);
    remove_dir();
}
END_TEST

/* Plain output: a line per feed with its outcome, status and title, a line per
 * distinct link, the seed's counts as the farm expects them, the tallies. */
START_TEST(test_farm_plain)
{
    make_dir();
    struct test_server srv;
    farm_start(&srv);
    json_t *exp = load_expect();
    const char *O = json_string_value(json_object_get(exp, "origin"));
    json_t *sum = json_object_get(exp, "summary");
    char list[512], ca[512], want[1024];
    path_in(list, sizeof list, "feeds.txt");
    path_in(ca, sizeof ca, "ca.pem");
    char *out, *err;
    int rc = RSS("plain", &out, &err, NULL, "--feeds", list, "--ca-file", ca, "--timeout", "2",
                 "--concurrency", "7");
    ck_assert_msg(rc == 0, "loom-rss exited %d:\n%s", rc, err);
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(exp, "feeds"), i, f)
    {
        const char *url = json_string_value(json_object_get(f, "url"));
        const char *title = json_string_value(json_object_get(f, "title"));
        snprintf(want, sizeof want, "feed %s %s ", url,
                 json_string_value(json_object_get(f, "outcome")));
        ck_assert_contains(out, want);
        if (title && *title && !strchr(title, '\x1b')) {
            snprintf(want, sizeof want, "feed %s ok 200 %s\n", url, title);
            if (!strcmp(json_string_value(json_object_get(f, "outcome")), "ok"))
                ck_assert_contains(out, want);
        }
    }
    json_t *st;
    const char *link;
    json_object_foreach(json_object_get(exp, "links"), link, st)
    {
        snprintf(want, sizeof want, "link %s %lld\n", link, (long long)json_integer_value(st));
        ck_assert_contains(out, want);
    }
    ck_assert_int_eq(test_count(out, "\nlink "),
                     (int)json_object_size(json_object_get(exp, "links")));
    snprintf(want, sizeof want, "\nlen(htmls)=%lld\nlen(entry_urls)=%lld\nfeeds: ",
             (long long)json_integer_value(json_object_get(sum, "htmls")),
             (long long)json_integer_value(json_object_get(sum, "entry_urls")));
    ck_assert_contains(out, want);
    TEST_IN_ORDER(out, "len(htmls)=", "feeds: ok=", "\nlinks: 200=");
    const char *tallies[] = {"redirect-loop=1", "http-404=1",  "http-500=1",
                             "timeout=1",       "truncated=1", "refused=1"};
    for (i = 0; i < sizeof tallies / sizeof tallies[0]; i++)
        ck_assert_contains(strstr(out, "\nfeeds: "), tallies[i]);
    ck_assert_contains(strstr(out, "\nlinks: "), " 404=");
    snprintf(want, sizeof want, "feed %s/r/https/rss2-koi8r.xml ok 200 ", O);
    ck_assert_contains(out, want);
    ck_assert_contains(err, "feeds, ");
    json_decref(exp);
    free(out);
    free(err);
    test_feed_farm_stop(&srv);
    remove_dir();
}
END_TEST

/* A body dripping a byte a second costs at most the timeout. */
START_TEST(test_stall_timeout)
{
    make_dir();
    struct test_server srv;
    farm_start(&srv);
    json_t *exp = load_expect();
    const char *O = json_string_value(json_object_get(exp, "origin"));
    char list[512];
    path_in(list, sizeof list, "stall.txt");
    FILE *fl = fopen(list, "w");
    ck_assert_ptr_nonnull(fl);
    fprintf(fl, "%s/stall/rss2-utf8.xml\n%s/stall/atom-base.xml\n", O, O);
    fclose(fl);
    char *out, *err;
    double secs;
    int rc = RSS("stall", &out, &err, &secs, "--feeds", list, "--timeout", "0.5");
    ck_assert_msg(rc == 0, "loom-rss exited %d:\n%s", rc, err);
    ck_assert_msg(secs < 0.5 + 2.0, "a 0.5 s timeout took %.2f s", secs);
    ck_assert_int_eq(test_count(out, " timeout 200\n"), 2);
    ck_assert_contains(out, "feeds: timeout=2\n");
    ck_assert_contains(out, "len(htmls)=0\n");
    json_decref(exp);
    free(out);
    free(err);
    test_feed_farm_stop(&srv);
    remove_dir();
}
END_TEST

/* Without --ca-file the farm's CA is unknown: the https feeds (and the http
 * one redirected to https) fail with a certificate outcome, the http ones work. */
START_TEST(test_tls_unknown_ca)
{
    make_dir();
    struct test_server srv;
    farm_start(&srv);
    json_t *exp = load_expect();
    const char *O = json_string_value(json_object_get(exp, "origin"));
    const char *T = json_string_value(json_object_get(exp, "tls_origin"));
    char list[512];
    path_in(list, sizeof list, "tls.txt");
    FILE *fl = fopen(list, "w");
    ck_assert_ptr_nonnull(fl);
    fprintf(fl, "%s/feeds/atom-base.xml\n%s/r/https/rss2-koi8r.xml\n%s/feeds/rdf.xml\n", T, O, O);
    fclose(fl);
    char *out, *err, want[512];
    int rc = RSS("tls", &out, &err, NULL, "--feeds", list, "--timeout", "5");
    ck_assert_msg(rc == 0, "loom-rss exited %d:\n%s", rc, err);
    snprintf(want, sizeof want, "feed %s/feeds/atom-base.xml tls-certificate -\n", T);
    ck_assert_contains(out, want);
    snprintf(want, sizeof want, "feed %s/r/https/rss2-koi8r.xml tls-certificate -\n", O);
    ck_assert_contains(out, want);
    snprintf(want, sizeof want, "feed %s/feeds/rdf.xml ok 200 RDF Site Summary\n", O);
    ck_assert_contains(out, want);
    ck_assert_contains(err, "certificate verify failed");
    ck_assert_contains(out, "feeds: tls-certificate=2 ok=1\n");
    json_decref(exp);
    free(out);
    free(err);
    test_feed_farm_stop(&srv);
    remove_dir();
}
END_TEST

/* Bad usage exits 2 naming the argument; a setup failure exits 1 saying why. */
START_TEST(test_bad_args)
{
    make_dir();
    static const struct {
        const char *args[4];
        int status;
        const char *needle;
    } cases[] = {
        {{"--concurrency", "0"}, 2, "--concurrency"},
        {{"--concurrency", "many"}, 2, "--concurrency"},
        {{"--timeout", "-1"}, 2, "--timeout"},
        {{"--timeout", "soon"}, 2, "--timeout"},
        {{"--bogus"}, 2, "--bogus"},
        {{"stray"}, 2, "stray"},
        {{"--feeds"}, 2, "--feeds"},
        {{"--json", "--json"}, 2, "--json"},
        {{"--ca-file", "/nonexistent/ca.pem"}, 1, "/nonexistent/ca.pem"},
        {{"--feeds", "/nonexistent/feeds.txt"}, 1, "/nonexistent/feeds.txt"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[6] = {bin}, *out = NULL;
        for (int j = 0; cases[i].args[j]; j++)
            argv[j + 1] = (char *)cases[i].args[j];
        int rc = test_run(argv, NULL, 30, &out, NULL);
        ck_assert_msg(rc == cases[i].status, "%s %s: exit %d, want %d:\n%s", cases[i].args[0],
                      cases[i].args[1] ? cases[i].args[1] : "", rc, cases[i].status, out);
        ck_assert_contains(out, cases[i].needle);
        ck_assert_msg(!strstr(out, "\nfeed ") && strncmp(out, "feed ", 5), "it ran:\n%s", out);
        free(out);
    }
    /* a CA file that is no PEM */
    char bad[512];
    path_in(bad, sizeof bad, "bad.pem");
    FILE *f = fopen(bad, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a certificate\n", f);
    fclose(f);
    char *argv[] = {bin, "--ca-file", bad, NULL}, *out = NULL;
    ck_assert_int_eq(test_run(argv, NULL, 30, &out, NULL), 1);
    ck_assert_contains(out, "--ca-file");
    free(out);
    char *help[] = {bin, "--help", NULL};
    ck_assert_int_eq(test_run(help, NULL, 30, &out, NULL), 0);
    TEST_IN_ORDER(out, "--feeds FILE", "--ca-file PEM", "--concurrency N", "--timeout SEC",
                  "--json");
    free(out);
    remove_dir();
}
END_TEST

/* A feed whose title and entries carry escape sequences (ESC, CSI as C1, BEL,
 * a newline, bidi overrides), served by loom-http: nothing of them reaches
 * the output raw. */
START_TEST(test_escapes)
{
    make_dir();
    char www[512], feed[600], list[512];
    path_in(www, sizeof www, "www");
    ck_assert_int_eq(mkdir(www, 0700), 0);
    snprintf(feed, sizeof feed, "%s/evil.xml", www);
    FILE *f = fopen(feed, "w");
    ck_assert_ptr_nonnull(f);
    /* type="html": the entities decode to the raw controls in a second step */
    fputs(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title type=\"html\">Evil "
        "&amp;#27;[2J&amp;#27;]0;pwned&amp;#7; &#x9B;31m red&#x7F;\n title&#x202E;fdp.exe</title>"
        "<entry><title type=\"html\">x&amp;#27;[1m&#x2067;</title><link href=\"/links/a\"/></entry>"
        "</feed>\n",
        f);
    fclose(f);
    struct test_server srv;
    serve_feed(&srv, www, "evil.xml", list, sizeof list);
    char *out, *err;
    for (int json = 0; json < 2; json++) {
        int rc = json ? RSS("evil", &out, &err, NULL, "--feeds", list, "--timeout", "5", "--json")
                      : RSS("evil", &out, &err, NULL, "--feeds", list, "--timeout", "5");
        ck_assert_msg(rc == 0, "loom-rss exited %d:\n%s", rc, err);
        for (const char *s = out; *s; s++)
            ck_assert_msg(*s != '\x1b' && *s != '\a', "a raw control byte in:\n%s", out);
        ck_assert_msg(!strstr(out, "\xc2\x9b") && !strchr(out, '\x7f'), "a raw C1/DEL in:\n%s",
                      out);
        ck_assert_msg(!strstr(out, "\xe2\x80\xae") && !strstr(out, "\xe2\x81\xa7"),
                      "a raw bidi override in:\n%s", out);
        for (const char *s = err; *s; s++)
            ck_assert_msg(*s != '\x1b' && *s != '\a', "a raw control byte in stderr:\n%s", err);
        ck_assert_contains(out, json ? "\"title\": \"Evil " : " ok 200 Evil ");
        ck_assert_contains(out, "red");
        free(out);
        free(err);
    }
    server_stop(&srv);
    remove_dir();
}
END_TEST

/* A feed with 100 links to a host that drops SYNs (a listener with a full
 * backlog): the first checks time out connecting, the others are not tried
 * (same status) - the run took 100 / concurrency x the timeout. */
START_TEST(test_dead_origin)
{
    make_dir();
    static const char blackhole[] =
        "import socket, time\n"
        "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(0)\n"
        "fill = [socket.socket() for _ in range(4)]\n"
        "for f in fill:\n"
        "    f.setblocking(False)\n"
        "    f.connect_ex(l.getsockname())\n"
        "time.sleep(0.2)\n"
        "print('listening on 127.0.0.1:%d' % l.getsockname()[1], flush=True)\n"
        "time.sleep(60)\n";
    struct test_server hole, web;
    char *hargv[] = {"python3", "-c", (char *)blackhole, NULL};
    test_server_start(&hole, hargv);
    char www[512], feed[600], list[512];
    path_in(www, sizeof www, "www");
    ck_assert_int_eq(mkdir(www, 0700), 0);
    snprintf(feed, sizeof feed, "%s/dead.xml", www);
    FILE *f = fopen(feed, "w");
    ck_assert_ptr_nonnull(f);
    fputs("<rss version='2.0'><channel><title>dead links</title>", f);
    for (int i = 0; i < 100; i++)
        fprintf(f, "<item><title>%d</title><link>http://127.0.0.1:%d/%d</link></item>", i,
                hole.port, i);
    fputs("</channel></rss>\n", f);
    fclose(f);
    serve_feed(&web, www, "dead.xml", list, sizeof list);
    char *out, *err;
    double secs;
    int rc =
        RSS("dead", &out, &err, &secs, "--feeds", list, "--timeout", "1", "--concurrency", "5");
    ck_assert_msg(rc == 0, "loom-rss exited %d:\n%s", rc, err);
    int timeouts = 0;
    for (const char *p = out; (p = strstr(p, " timeout\n")); p++)
        timeouts++;
    ck_assert_msg(timeouts == 100, "%d links timed out:\n%s", timeouts, out);
    ck_assert_msg(secs < 8, "took %.2f s", secs);
    ck_assert_contains(err, "not tried: its origin could not be connected to earlier");
    free(out);
    free(err);
    server_stop(&web);
    server_stop(&hole);
    remove_dir();
}
END_TEST

/* 200 answers that are no feed (an HTML page, an empty body, broken XML):
 * each says why on stderr - the feed line said "ok 200" and nothing else did. */
START_TEST(test_not_feeds)
{
    make_dir();
    struct test_server hostile;
    char *hargv[] = {"python3", "tests/tools/http_hostile.py", NULL};
    test_server_start(&hostile, hargv);
    char list[512];
    path_in(list, sizeof list, "notfeeds.txt");
    FILE *fl = fopen(list, "w");
    ck_assert_ptr_nonnull(fl);
    static const char *const bodies[] = {
        "HTTP/1.1%20200%20OK%0D%0AContent-Length:%2025%0D%0A%0D%0A<html><p>hi</p></html>%0A%0A",
        "HTTP/1.1%20200%20OK%0D%0AContent-Length:%200%0D%0A%0D%0A",
        "HTTP/1.1%20200%20OK%0D%0AContent-Length:%2013%0D%0A%0D%0A<rss><channel",
    };
    for (int i = 0; i < 3; i++)
        fprintf(fl, "http://127.0.0.1:%d/raw?b=%s\n", hostile.port, bodies[i]);
    fclose(fl);
    char *out, *err;
    int rc = RSS("notfeeds", &out, &err, NULL, "--feeds", list, "--timeout", "5");
    ck_assert_msg(rc == 0, "loom-rss exited %d:\n%s", rc, err);
    ck_assert_contains(err, "not-a-feed: not a feed");
    const char *x = strstr(err, ": xml-error: not well-formed XML");
    ck_assert_msg(x && strstr(x + 1, ": xml-error: not well-formed XML"), "%s", err);
    free(out);
    free(err);
    server_stop(&hostile);
    remove_dir();
}
END_TEST

/* Ctrl-C while every feed stalls (the timeout far away): loom-rss stops at
 * once, reports each feed as interrupted and exits 130; it used to die on
 * the signal with no report. */
START_TEST(test_interrupt)
{
    make_dir();
    struct test_server hostile, run;
    char *hargv[] = {"python3", "tests/tools/http_hostile.py", NULL};
    test_server_start(&hostile, hargv);
    char list[512], cmd[2048], stats[128];
    path_in(list, sizeof list, "never.txt");
    FILE *fl = fopen(list, "w");
    ck_assert_ptr_nonnull(fl);
    fprintf(fl, "http://127.0.0.1:%d/never\nhttp://127.0.0.1:%d/never?2\n", hostile.port,
            hostile.port);
    fclose(fl);
    snprintf(cmd, sizeof cmd, "echo listening on 127.0.0.1:1; exec '%s' --feeds '%s' --timeout 60",
             bin, list);
    char *rargv[] = {"/bin/sh", "-c", cmd, NULL};
    test_server_start(&run, rargv);
    /* wait (bounded) until both requests reached the server */
    snprintf(stats, sizeof stats, "http://127.0.0.1:%d/stats", hostile.port);
    int requests = 0;
    for (double t0 = test_now(); requests < 3 && test_now() - t0 < 10; usleep(20000)) {
        int st;
        char *body, err[256];
        size_t len;
        if (loom_http_get_blocking(stats, NULL, 0, &st, &body, &len, err, sizeof err) == 0) {
            const char *p = strstr(body, "requests=");
            requests = p ? atoi(p + 9) : 0; /* this GET counts too */
            free(body);
        }
    }
    ck_assert_int_ge(requests, 3);
    double t0 = test_now();
    kill(run.pid, SIGINT);
    int rc = test_server_wait(&run, 10);
    double el = test_now() - t0;
    ck_assert_msg(rc == 130, "exit %d:\n%s", rc, run.buf);
    ck_assert_msg(el < 5, "took %.2f s to stop", el);
    TEST_IN_ORDER(run.buf, "/never interrupted", "interrupted: the report holds what was done");
    ck_assert_contains(run.buf, "feeds: interrupted=2");
    server_stop(&hostile);
    remove_dir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("app_rss");
    TCase *tc = test_tcase(s, "farm", 240);
    tcase_add_test(tc, test_farm_json);
    tcase_add_test(tc, test_farm_plain);
    tcase_add_test(tc, test_stall_timeout);
    tcase_add_test(tc, test_tls_unknown_ca);
    tc = test_tcase(s, "usage", 60);
    tcase_add_test(tc, test_bad_args);
    tc = test_tcase(s, "terminal", 60);
    tcase_add_test(tc, test_escapes);
    tcase_add_test(tc, test_interrupt);
    tcase_add_test(tc, test_dead_origin);
    tcase_add_test(tc, test_not_feeds);
    return test_main(s);
}
