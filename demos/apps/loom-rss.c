/* loom-rss - the seed's RSS reader done right: fetch every feed at once with
 * the seed's wait(FIRST_COMPLETED) loop, parse each body as it arrives (RSS
 * 2.0, Atom, RDF; charset from Content-Type, the XML declaration or the BOM),
 * then check every distinct entry link (HEAD, GET when HEAD is refused) with
 * bounded concurrency. Every request is bounded by --timeout, so a server
 * that stalls or drips costs at most that; every wait here is bounded too.
 * A link whose origin could not be connected to earlier in the run (refused,
 * DNS, the connect timed out) gets that status without a request. Ctrl-C
 * stops the run and prints the report of what was done (exit status 130).
 *
 * Output (demos/common/feed_report.h): one fact a line, then the seed's
 * counts; --json prints the report as JSON instead. A progress line is drawn
 * on stderr when it is a terminal. Reasons for failures go to stderr. All text
 * from the network is sanitised before it is printed. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apps/feeds_default.h"
#include "common/feed.h"
#include "common/feed_report.h"
#include "common/opts.h"
#include "net/http.h"
#include "net/tls.h"
#include "net/url.h"
#include "reactor/error.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: loom-rss [--feeds FILE] [--ca-file PEM] [--concurrency N] [--timeout SEC] [--json]\n"
    "Fetches every feed at once, parses RSS 2.0, Atom and RDF, then checks every entry link.\n"
    "  --feeds FILE       feed URLs, one a line ('#' comments); default: the seed's 58 feeds\n"
    "  --ca-file PEM      trust these CA certificates too (added to the system store)\n"
    "  --concurrency N    entry links checked at once (default 20)\n"
    "  --timeout SEC      bound on each request: connect, each read and in all (default 10)\n"
    "  --json             print the report as JSON (feed_farm.py --compare reads it)\n"
    "Prints \"feed URL OUTCOME STATUS TITLE\" per feed, \"link URL STATUS\" per distinct link,\n"
    "then len(htmls)=N, len(entry_urls)=N and the outcomes and statuses by kind.\n"
    "Ctrl-C stops the run and prints the report of what was done (a second one ends it).\n"
    "Exit status: 0 when it ran (failing feeds are data), 1 on a setup failure, 2 on bad usage,\n"
    "130 when interrupted.";

enum {
    MAX_FEEDS = 10000,
    READ_BUF = 16384,
    OUTCOME_LEN = 24,
};
#define TICK_NS 250000000LL   /* progress redraw / wait round */
#define GUARD_NS 5000000000LL /* slack past the bound a request promises */

/* One distinct entry link and its check. */
struct link_job {
    const char *url; /* borrowed from the first entry carrying it */
    int status;      /* HTTP status or DEMO_LINK_* */
};

/* An entry carrying a link: which feed and entry, and its job. */
struct link_ref {
    const char *url;
    size_t feed, entry, seq, job;
};

static struct {
    struct loom_http_session *s;
    int64_t timeout_ns;
    bool json;
    bool tty; /* stderr is a terminal: draw the progress line */
    bool drawn;
    int64_t last_draw;
    struct demo_feed_result *res;
    char (*outcome)[OUTCOME_LEN]; /* storage for "http-N" outcomes */
    size_t nfeeds, feeds_done, errors;
    struct link_job *jobs;
    size_t *order; /* jobs in the order their link first appears */
    size_t njobs, next_job, links_done;
    struct loom_task *main;    /* rss_main's task: Ctrl-C cancels it */
    struct loom_signal sig[2]; /* SIGINT, SIGTERM */
    bool interrupted;
} g;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* --- terminal output --- */

/* Clear the progress line before a fact is printed over it. */
static void clear_progress(void)
{
    if (g.drawn) {
        fputs("\r\033[K", stderr);
        g.drawn = false;
    }
}

static void progress(bool force)
{
    if (!g.tty)
        return;
    int64_t t = now_ns();
    if (!force && t - g.last_draw < 50000000LL)
        return;
    g.last_draw = t;
    demo_feed_report_progress(stderr, g.feeds_done, g.nfeeds, g.links_done, g.njobs, g.errors,
                              false);
    g.drawn = true;
}

/* "loom-rss: URL: why" on stderr, network text sanitised. */
static void say_failure(const char *url, const char *why)
{
    clear_progress();
    fprintf(stderr, "%s: ", opts_prog());
    demo_feed_print_safe(stderr, url);
    fputs(": ", stderr);
    demo_feed_print_safe(stderr, why);
    fputc('\n', stderr);
}

/* --- fetching feeds --- */

/* A LOOM_URL_E* code (net/url.h numbers them from -4101 down). */
static bool is_url_error(int rc)
{
    return rc <= LOOM_URL_ENOSCHEME && rc > LOOM_URL_ENOSCHEME - 99;
}

/* The outcome of a request that got no response. Timeouts, refusals and TLS
 * are told by code; a redirect loop only by the client's message (the client
 * uses LOOM_EHTTP for every protocol failure). */
static const char *request_outcome(int rc, const char *err)
{
    switch (rc) {
    case -ECONNREFUSED:
        return "refused";
    case -ETIMEDOUT:
        return "timeout";
    case -ECANCELED:
        return g.interrupted ? "interrupted" : "timeout"; /* else only the guard cancels */
    case LOOM_EDNS:
        return "dns-error";
    case -EPROTONOSUPPORT:
        return "bad-scheme";
    case LOOM_ETLS:
        return strstr(err, "certificate") ? "tls-certificate" : "tls-error";
    case LOOM_EHTTP:
        if (!strncmp(err, "redirect loop", 13))
            return "redirect-loop";
        if (!strncmp(err, "too many redirects", 18))
            return "too-many-redirects";
        return "protocol-error";
    default:
        return is_url_error(rc) ? "bad-url" : rc == -ECONNRESET ? "reset" : "error";
    }
}

/* The outcome of a body read that failed (rc < 0) or ended short. */
static const char *body_outcome(struct loom_http_response *resp, ssize_t rc)
{
    if (loom_http_response_truncated(resp))
        return "truncated";
    switch (rc) {
    case -ECANCELED:
        return g.interrupted ? "interrupted" : "timeout";
    case -ETIMEDOUT:
        return "timeout";
    case LOOM_ELIMIT:
        return "too-big";
    case -ECONNRESET:
        return "reset";
    default:
        return "error";
    }
}

/* Stream the body into the parser; the feed is kept only when the whole body
 * came (or the parser stopped early on an error of the document itself). */
static void parse_body(struct demo_feed_result *r, struct loom_http_response *resp)
{
    struct demo_feed_parser *p;
    if (demo_feed_parser_new(&p, r->final_url, loom_http_response_charset(resp), NULL) < 0) {
        r->outcome = "error";
        say_failure(r->url, "cannot start the parser");
        return;
    }
    static __thread char buf[READ_BUF]; /* tasks of one loop never run at once */
    ssize_t n;
    int prc = 0;
    while (prc == 0 && (n = loom_http_response_read(resp, buf, sizeof buf)) > 0)
        prc = demo_feed_parser_push(p, buf, (size_t)n);
    if (prc == 0 && (n < 0 || loom_http_response_truncated(resp))) {
        r->outcome = body_outcome(resp, n);
        const char *why = loom_http_response_error(resp);
        say_failure(r->url, *why ? why : n < 0 ? loom_strerror((int)n) : "body cut short");
        struct demo_feed junk;
        demo_feed_parser_finish(p, &junk);
        demo_feed_free(&junk);
    } else {
        r->parsed = true;
        r->parse_rc = demo_feed_parser_finish(p, &r->feed);
        if (r->parse_rc != 0) { /* an HTML page, an empty body, broken XML: say so */
            char why[400];
            const char *m = demo_feed_parser_errmsg(p);
            snprintf(why, sizeof why, "%s: %s%s%s", demo_feed_parse_name(r->parse_rc),
                     demo_feed_strerror(r->parse_rc), *m ? ": " : "", m);
            say_failure(r->url, why);
        }
    }
    demo_feed_parser_free(p);
}

/* A feed task: GET, parse as the body arrives. Returns the feed's index. */
static intptr_t fetch_feed(void *arg)
{
    struct demo_feed_result *r = arg;
    size_t i = (size_t)(r - g.res);
    char err[LOOM_HTTP_ERRLEN] = "";
    struct loom_http_response *resp;
    int rc = loom_http_get(g.s, r->url, &resp, err, sizeof err);
    if (rc < 0) {
        r->outcome = request_outcome(rc, err);
        say_failure(r->url, *err ? err : loom_strerror(rc));
        return (intptr_t)i;
    }
    r->status = loom_http_response_status(resp);
    r->final_url = strdup(loom_http_response_url(resp));
    if (r->status == 200)
        r->outcome = "ok";
    else
        r->outcome = g.outcome[i], snprintf(g.outcome[i], OUTCOME_LEN, "http-%d", r->status);
    if (r->final_url)
        parse_body(r, resp);
    else
        r->outcome = "error";
    loom_http_response_close(resp);
    return (intptr_t)i;
}

/* Cancel what is still pending (their fetches end as "timeout"). */
static void cancel_all(struct loom_task **t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        loom_task_cancel(t[i]);
}

/* The seed's loop: wait(pending, FIRST_COMPLETED) until nothing is pending,
 * reporting each feed as it completes. Each fetch is bounded by the request
 * timeout; past it (plus slack) whatever is left is cancelled. */
static int fetch_all(void)
{
    size_t n = g.nfeeds, npend = 0;
    struct loom_task **tasks = calloc(n ? n : 1, sizeof *tasks);
    struct loom_task **pend = calloc(n ? n : 1, sizeof *pend);
    if (!tasks || !pend) {
        free(tasks);
        free(pend);
        return -ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = loom_task_spawn(NULL, fetch_feed, &g.res[i], NULL, &tasks[i]);
        if (rc == 0)
            pend[npend++] = tasks[i];
    }
    int64_t guard = now_ns() + g.timeout_ns + GUARD_NS;
    bool cancelled = false;
    while (npend > 0) {
        int k = loom_wait(pend, npend, LOOM_FIRST_COMPLETED, TICK_NS);
        if (k < 0) { /* we were cancelled: take the fetches down with us */
            cancel_all(pend, npend);
            rc = k;
            k = loom_wait(pend, npend, LOOM_ALL_COMPLETED, GUARD_NS);
            if (k < (int)npend)
                break;
        }
        for (int j = 0; j < k; j++) {
            intptr_t idx = loom_task_result(pend[j]);
            g.feeds_done++;
            if (idx < 0 || (size_t)idx >= n)
                continue;
            struct demo_feed_result *r = &g.res[idx];
            g.errors += !r->parsed || r->status != 200 || r->parse_rc != 0;
            if (!g.json) {
                clear_progress();
                demo_feed_report_feed(stdout, r);
            }
        }
        memmove(pend, pend + k, (npend - (size_t)k) * sizeof *pend);
        npend -= (size_t)k;
        progress(false);
        if (npend > 0 && !cancelled && now_ns() > guard) {
            cancel_all(pend, npend);
            cancelled = true;
            guard = now_ns() + GUARD_NS;
        } else if (npend > 0 && cancelled && now_ns() > guard) {
            rc = -ETIMEDOUT; /* tasks ignoring cancellation: leave them */
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (tasks[i])
            loom_task_release(tasks[i]);
    for (size_t i = 0; i < n; i++)
        if (!g.res[i].outcome)
            g.res[i].outcome = rc == -ENOMEM || rc == -EAGAIN ? "error"
                               : g.interrupted                ? "interrupted"
                                                              : "timeout";
    free(tasks);
    free(pend);
    return rc == -ETIMEDOUT ? 0 : rc;
}

/* --- checking links --- */

static bool give_up_on_head(int rc)
{
    return rc == -ETIMEDOUT || rc == -ECANCELED || rc == -ECONNREFUSED || rc == LOOM_EDNS ||
           rc == -EPROTONOSUPPORT || rc == LOOM_ETLS || is_url_error(rc);
}

/* --- origins that could not be connected to --- */

/* An origin whose connection failed (refused, DNS, TLS, the connect timed
 * out) fails the same way for every link to it in this run: its other links
 * get that status without a request. A feed listing thousands of links to a
 * host that drops SYNs would otherwise cost links / concurrency x timeout. */
static struct {
    char **key; /* open addressing, NULL: free */
    int *status;
    size_t cap, n;
} dead;

static size_t origin_hash(const char *k)
{
    size_t h = 14695981039346656037u;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211u;
    return h;
}

/* The slot of origin k: its own, or the free one where it would go. */
static size_t dead_slot(const char *k)
{
    size_t i = origin_hash(k) & (dead.cap - 1);
    while (dead.key[i] && strcmp(dead.key[i], k))
        i = (i + 1) & (dead.cap - 1);
    return i;
}

static int dead_status(const char *origin)
{
    if (!dead.cap || !*origin)
        return 0;
    size_t i = dead_slot(origin);
    return dead.key[i] ? dead.status[i] : 0;
}

static void dead_add(const char *origin, int status)
{
    if (!*origin || (dead.cap && dead.key[dead_slot(origin)]))
        return;
    if (2 * (dead.n + 1) > dead.cap) { /* grow: rehash into twice the room */
        size_t ncap = dead.cap ? 2 * dead.cap : 64, ocap = dead.cap;
        char **ok = dead.key;
        int *os = dead.status;
        dead.key = calloc(ncap, sizeof *dead.key);
        dead.status = calloc(ncap, sizeof *dead.status);
        if (!dead.key || !dead.status) { /* no memory: forget them all, links are tried */
            free(dead.key), free(dead.status);
            dead.key = ok, dead.status = os;
            return;
        }
        dead.cap = ncap;
        for (size_t i = 0; i < ocap; i++)
            if (ok[i]) {
                size_t j = dead_slot(ok[i]);
                dead.key[j] = ok[i], dead.status[j] = os[i];
            }
        free(ok), free(os);
    }
    char *k = strdup(origin);
    if (!k)
        return;
    size_t i = dead_slot(k);
    dead.key[i] = k, dead.status[i] = status;
    dead.n++;
}

static void dead_free(void)
{
    for (size_t i = 0; i < dead.cap; i++)
        free(dead.key[i]);
    free(dead.key), free(dead.status);
    memset(&dead, 0, sizeof dead);
}

/* url's origin ("http://host:80") into buf, or "" when it has none. */
static void origin_of(const char *url, char *buf, size_t cap)
{
    struct loom_url u;
    *buf = 0;
    if (loom_url_parse(&u, url, (size_t)-1) == 0) {
        if (loom_url_origin(&u, buf, cap) < 0)
            *buf = 0;
        loom_url_close(&u);
    }
}

/* A request failure that says origin (not a redirect's target) cannot be
 * connected to at all: the client names the origin in "cannot connect to
 * ORIGIN: why" and "connecting to ORIGIN timed out". */
static bool connect_failed(int rc, const char *err, const char *origin)
{
    const char *at = *origin ? strstr(err, origin) : NULL;
    if (!at || (at[strlen(origin)] != ':' && at[strlen(origin)] != ' '))
        return false;
    return rc == -ECONNREFUSED || rc == LOOM_EDNS ||
           (rc == -ETIMEDOUT && !strncmp(err, "connecting to ", 14));
}

/* HEAD, then GET when HEAD is refused (405, 501) or fails otherwise; redirects
 * followed. The final status, or DEMO_LINK_TIMEOUT / DEMO_LINK_ERROR. */
static int check_link(const char *url)
{
    int st = DEMO_LINK_ERROR;
    char err[LOOM_HTTP_ERRLEN], origin[1100];
    origin_of(url, origin, sizeof origin);
    if ((st = dead_status(origin)) != 0) {
        say_failure(url, "not tried: its origin could not be connected to earlier");
        return st;
    }
    st = DEMO_LINK_ERROR;
    for (int get = 0; get < 2; get++) {
        struct loom_http_request_options o = {.method = get ? "GET" : "HEAD"};
        struct loom_http_response *resp;
        int rc = loom_http_request(g.s, url, &o, &resp, err, sizeof err);
        if (rc < 0) {
            st = rc == -ETIMEDOUT || rc == -ECANCELED ? DEMO_LINK_TIMEOUT : DEMO_LINK_ERROR;
            if (connect_failed(rc, err, origin))
                dead_add(origin, st);
            if (get || give_up_on_head(rc)) {
                say_failure(url, *err ? err : loom_strerror(rc));
                break;
            }
            continue;
        }
        st = loom_http_response_status(resp);
        loom_http_response_close(resp); /* the body is not needed: GET's connection goes */
        if (st != 405 && st != 501)
            break;
    }
    return st;
}

/* A worker: take the next unchecked link until none is left. */
static intptr_t link_worker(void *arg)
{
    (void)arg;
    while (g.next_job < g.njobs) {
        struct link_job *j = &g.jobs[g.order[g.next_job++]];
        j->status = check_link(j->url);
        g.links_done++;
        g.errors += j->status < 0 || j->status >= 400;
        if (!g.json) {
            clear_progress();
            demo_feed_report_link(stdout, j->url, j->status);
        }
        progress(false);
    }
    return 0;
}

static int ref_by_url(const void *a, const void *b)
{
    const struct link_ref *x = a, *y = b;
    int c = strcmp(x->url, y->url);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* One job per distinct link, in the order links first appear; *refs maps every
 * entry with a link to its job. */
static int plan_links(struct link_ref **refs_out, size_t *nrefs_out)
{
    size_t nrefs = 0;
    for (size_t i = 0; i < g.nfeeds; i++)
        for (size_t j = 0; j < g.res[i].feed.n_entries; j++)
            nrefs += g.res[i].feed.entries[j].link != NULL;
    struct link_ref *refs = calloc(nrefs ? nrefs : 1, sizeof *refs);
    g.jobs = calloc(nrefs ? nrefs : 1, sizeof *g.jobs);
    g.order = calloc(nrefs ? nrefs : 1, sizeof *g.order);
    size_t *first = calloc(nrefs ? nrefs : 1, sizeof *first);
    if (!refs || !g.jobs || !g.order || !first) {
        free(refs);
        free(first);
        return -ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < g.nfeeds; i++)
        for (size_t j = 0; j < g.res[i].feed.n_entries; j++)
            if (g.res[i].feed.entries[j].link)
                refs[k] = (struct link_ref){g.res[i].feed.entries[j].link, i, j, k, 0}, k++;
    qsort(refs, nrefs, sizeof *refs, ref_by_url);
    for (size_t r = 0; r < nrefs; r++) {
        if (r == 0 || strcmp(refs[r].url, refs[r - 1].url)) {
            first[g.njobs] = refs[r].seq; /* sorted by seq within a URL: the first */
            g.jobs[g.njobs++] = (struct link_job){refs[r].url, DEMO_LINK_UNCHECKED};
        }
        refs[r].job = g.njobs - 1;
    }
    /* order: jobs by first appearance (a counting pass over seq) */
    size_t *job_at_seq = calloc(nrefs ? nrefs : 1, sizeof *job_at_seq);
    if (!job_at_seq) {
        free(refs);
        free(first);
        return -ENOMEM;
    }
    for (size_t j = 0; j < nrefs; j++)
        job_at_seq[j] = (size_t)-1;
    for (size_t j = 0; j < g.njobs; j++)
        job_at_seq[first[j]] = j;
    size_t o = 0;
    for (size_t s = 0; s < nrefs; s++)
        if (job_at_seq[s] != (size_t)-1)
            g.order[o++] = job_at_seq[s];
    free(job_at_seq);
    free(first);
    *refs_out = refs;
    *nrefs_out = nrefs;
    return 0;
}

/* Check every distinct link with `workers` tasks; each check is bounded (two
 * requests at most), and if no check completes for longer than that the
 * workers are cancelled. */
static int check_all(size_t workers)
{
    struct link_ref *refs;
    size_t nrefs;
    int rc = plan_links(&refs, &nrefs);
    if (rc < 0)
        return rc;
    if (workers > g.njobs)
        workers = g.njobs;
    struct loom_task **t = calloc(workers ? workers : 1, sizeof *t);
    size_t nt = 0;
    for (size_t i = 0; t && i < workers; i++)
        if (loom_task_spawn(NULL, link_worker, NULL, NULL, &t[nt]) == 0)
            nt++;
    int64_t stall = 2 * g.timeout_ns + GUARD_NS, last = now_ns();
    size_t seen = 0;
    bool cancelled = false;
    while (nt > 0) {
        int k = loom_wait(t, nt, LOOM_ALL_COMPLETED, TICK_NS);
        if (k == (int)nt)
            break;
        if (k < 0 || (cancelled && now_ns() - last > GUARD_NS)) {
            rc = k < 0 ? k : 0;
            cancel_all(t, nt);
            loom_wait(t, nt, LOOM_ALL_COMPLETED, GUARD_NS);
            break;
        }
        if (g.links_done != seen)
            seen = g.links_done, last = now_ns();
        else if (!cancelled && now_ns() - last > stall) {
            cancel_all(t, nt);
            cancelled = true;
            last = now_ns();
        }
        progress(false);
    }
    for (size_t i = 0; i < nt; i++)
        loom_task_release(t[i]);
    free(t);
    for (size_t i = 0; i < g.nfeeds; i++)
        if (g.res[i].feed.n_entries &&
            !(g.res[i].link_status = calloc(g.res[i].feed.n_entries, sizeof(int))))
            rc = -ENOMEM;
    for (size_t r = 0; r < nrefs; r++)
        if (g.res[refs[r].feed].link_status)
            g.res[refs[r].feed].link_status[refs[r].entry] = g.jobs[refs[r].job].status;
    free(refs);
    return rc;
}

/* --- the JSON report --- */

/* feed_report's JSON with the characters JSON may carry raw but a terminal
 * would act on (DEL, the C1 controls such as U+009B CSI, the bidi embedding,
 * override and isolate controls U+202A..U+202E and U+2066..U+2069) written as
 * \u escapes: they only occur inside strings, so the document means the same. */
static bool bidi_control(const unsigned char *c) /* the two bytes after 0xE2 */
{
    return (c[0] == 0x80 && c[1] >= 0xaa && c[1] <= 0xae) ||
           (c[0] == 0x81 && c[1] >= 0xa6 && c[1] <= 0xa9);
}

static int print_json(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return -ENOMEM;
    int rc = demo_feed_report_json(m, g.res, g.nfeeds);
    if (fclose(m) != 0 && rc == 0)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == 0x7f)
            fputs("\\u007f", stdout);
        else if (c == 0xc2 && i + 1 < len && (unsigned char)buf[i + 1] >= 0x80 &&
                 (unsigned char)buf[i + 1] <= 0x9f)
            printf("\\u%04x", (unsigned char)buf[++i]);
        else if (c == 0xe2 && i + 2 < len && bidi_control((unsigned char *)buf + i + 1))
            printf("\\u%04x", 0x2000 | ((unsigned char)buf[i + 1] & 0x3f) << 6 |
                                  ((unsigned char)buf[i + 2] & 0x3f)),
                i += 2;
        else
            putchar(c);
    }
    free(buf);
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout)))
        rc = -EIO;
    return rc;
}

/* --- setup --- */

struct config {
    char **urls;
    size_t nurls;
    const char *ca_file;
    size_t concurrency;
};

/* Ctrl-C (or SIGTERM): stop fetching and checking, report what is known.
 * The watchers go, so a second Ctrl-C ends the program at once. */
static void on_signal(struct loom_signal *sig, int signum)
{
    (void)sig;
    (void)signum;
    g.interrupted = true;
    for (int i = 0; i < 2; i++)
        loom_signal_stop(&g.sig[i]);
    loom_task_cancel(g.main);
}

static void watch_signals(void)
{
    g.main = loom_task_current();
    for (int i = 0; i < 2; i++) {
        loom_signal_init(loom_loop_current(), &g.sig[i], on_signal);
        loom_signal_start(&g.sig[i], i ? SIGTERM : SIGINT); /* failing: the default stays */
    }
}

static intptr_t rss_main(void *arg)
{
    const struct config *c = arg;
    watch_signals();
    struct loom_http_session_options so = {
        .limit = c->concurrency > LOOM_HTTP_LIMIT ? c->concurrency : LOOM_HTTP_LIMIT,
        .timeout = {.total = g.timeout_ns,
                    .connect = g.timeout_ns,
                    .sock_connect = g.timeout_ns,
                    .sock_read = g.timeout_ns},
        .ca_file = c->ca_file,
    };
    int rc = loom_http_session_new(loom_loop_current(), &so, &g.s);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot make the HTTP session: %s\n", opts_prog(), loom_strerror(rc));
        return 1;
    }
    int64_t t0 = now_ns();
    rc = fetch_all();
    if (rc == 0 && !g.interrupted)
        rc = check_all(c->concurrency);
    if (g.drawn || g.tty)
        demo_feed_report_progress(stderr, g.feeds_done, g.nfeeds, g.links_done, g.njobs, g.errors,
                                  true);
    g.drawn = false;
    if (g.interrupted)
        fprintf(stderr, "%s: interrupted: the report holds what was done\n", opts_prog());
    else if (rc < 0)
        fprintf(stderr, "%s: %s\n", opts_prog(), loom_strerror(rc));
    if (g.json) {
        if (print_json() < 0)
            rc = -EIO;
    } else {
        demo_feed_report_summary(stdout, g.res, g.nfeeds);
    }
    fprintf(stderr, "%s: %zu feeds, %zu links checked in %.2f s\n", opts_prog(), g.nfeeds,
            g.links_done, (double)(now_ns() - t0) / 1e9);
    loom_http_session_free(g.s);
    for (int i = 0; i < 2; i++)
        loom_signal_stop(&g.sig[i]);
    return g.interrupted ? 130 : rc < 0 ? 1 : 0;
}

/* The CA file must load now: a run that silently trusts less is worse than none. */
static void check_ca_file(const char *path)
{
    if (access(path, R_OK) < 0) {
        fprintf(stderr, "%s: --ca-file %s: %s\n", opts_prog(), path, strerror(errno));
        exit(1);
    }
    struct loom_tls_client_options o = {.ca_file = path};
    struct loom_tls_context *ctx;
    char err[256] = "";
    if (loom_tls_client_context_new(&o, &ctx, err, sizeof err) < 0) {
        fprintf(stderr, "%s: --ca-file %s: %s\n", opts_prog(), path, err);
        exit(1);
    }
    loom_tls_context_free(ctx);
}

static void load_feeds(struct config *c)
{
    const char *path = opts_str("--feeds", NULL);
    if (!path) {
        c->urls = (char **)feeds_default;
        c->nurls = FEEDS_DEFAULT_COUNT;
        return;
    }
    size_t line = 0;
    int n = demo_feed_list_load(path, MAX_FEEDS, &c->urls, &line);
    if (n < 0) {
        if (line)
            fprintf(stderr, "%s: --feeds %s: line %zu: %s\n", opts_prog(), path, line,
                    n == LOOM_ELIMIT ? "too long (or too many feeds)"
                                     : "a control character or non-ASCII byte in a URL");
        else
            fprintf(stderr, "%s: --feeds %s: %s\n", opts_prog(), path, loom_strerror(n));
        exit(1);
    }
    c->nurls = (size_t)n;
}

int main(int argc, char **argv)
{
    opts_init(argc, argv, usage);
    struct config c = {
        .ca_file = opts_text("--ca-file", NULL, 4096),
        .concurrency = (size_t)opts_long("--concurrency", 20, 1, 10000),
    };
    g.timeout_ns = opts_seconds("--timeout", 10, 0.01, 86400);
    g.json = opts_flag("--json");
    g.tty = isatty(STDERR_FILENO);
    if (c.ca_file)
        check_ca_file(c.ca_file);
    load_feeds(&c);
    g.nfeeds = c.nurls;
    g.res = calloc(c.nurls ? c.nurls : 1, sizeof *g.res);
    g.outcome = calloc(c.nurls ? c.nurls : 1, sizeof *g.outcome);
    if (!g.res || !g.outcome) {
        fprintf(stderr, "%s: out of memory\n", opts_prog());
        return 1;
    }
    for (size_t i = 0; i < c.nurls; i++)
        g.res[i].url = c.urls[i];
    intptr_t rc = loom_run(rss_main, &c);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot run the loop: %s\n", opts_prog(), loom_strerror((int)rc));
        rc = 1;
    }
    for (size_t i = 0; i < c.nurls; i++) {
        demo_feed_free(&g.res[i].feed);
        free((char *)g.res[i].final_url);
        free(g.res[i].link_status);
    }
    if (opts_str("--feeds", NULL))
        demo_feed_list_free(c.urls, c.nurls);
    free(g.res);
    free(g.outcome);
    free(g.jobs);
    free(g.order);
    dead_free();
    return (int)rc;
}
