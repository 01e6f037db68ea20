/* listing_12_4.c - a web crawler on a queue with 100 workers (listing 12.4).
 *
 * 100 workers take (depth, url) items from an unbounded queue, GET the page
 * (3 s timeout, the book's wait_for) and, below depth 3, parse its HTML with
 * libxml2's HTML parser (BeautifulSoup's html.parser in the book), resolve
 * every <a href> against the page's URL and queue the same-site ones. main
 * waits for queue.join(), then cancels the workers. No de-duplication, as in
 * the book. The site is local (loom's HTTPS server, demos/common/site.c) with
 * a known link graph: every page links to four pages of the site and one
 * elsewhere, so the crawl fetches 1 + 4 + 16 + 64 = 85 pages, 40 distinct. */
#include <errno.h>
#include <libxml/HTMLparser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/site.h"
#include "demo.h"
#include "net/http.h"
#include "net/url.h"
#include "reactor/task.h"
#include "sync/sync.h"

static const char usage[] =
    "usage: listing_12_4\n"
    "Crawls a local HTTPS site (0.1 s per page, scaled) to depth 3 with 100 workers, following\n"
    "same-site links found by libxml2's HTML parser: 85 fetches of 40 distinct pages.\n";

enum { MAX_DEPTH = 3, WORKERS = 100 };

struct work_item {
    int item_depth;
    char url[256];
};

static struct demo_site *site;
static struct loom_http_session *session;
static struct loom_queue url_queue;
static char origin[64];
static int fetched, distinct, skipped;
static bool seen[64];

/* Queue href (resolved against base) if it is on the site. */
static void put_link(const struct work_item *w, const struct loom_url *base, const char *href)
{
    struct loom_url u;
    char o[64];
    if (loom_url_resolve(&u, base, href, strlen(href)) < 0)
        return;
    struct work_item *next = calloc(1, sizeof *next);
    if (loom_url_origin(&u, o, sizeof o) < 0 || strcmp(o, origin) != 0) {
        skipped++; /* another site */
        free(next);
    } else if (next && loom_url_format(&u, next->url, sizeof next->url) >= 0) {
        next->item_depth = w->item_depth + 1;
        if (loom_queue_put_nowait(&url_queue, next) < 0)
            free(next);
    } else {
        free(next);
    }
    loom_url_close(&u);
}

/* soup.find_all('a', href=True): walk the tree without recursion. */
static void put_links(const struct work_item *w, const char *body, size_t len)
{
    struct loom_url base;
    htmlDocPtr doc = htmlReadMemory(body, (int)len, w->url, NULL,
                                    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    if (doc && loom_url_parse(&base, w->url, (size_t)-1) == 0) {
        for (xmlNodePtr n = xmlDocGetRootElement(doc); n;) {
            if (n->type == XML_ELEMENT_NODE && !xmlStrcasecmp(n->name, BAD_CAST "a")) {
                xmlChar *href = xmlGetProp(n, BAD_CAST "href");
                if (href)
                    put_link(w, &base, (const char *)href);
                xmlFree(href);
            }
            if (n->children) {
                n = n->children;
                continue;
            }
            while (n && !n->next)
                n = n->parent && n->parent->type == XML_ELEMENT_NODE ? n->parent : NULL;
            n = n ? n->next : NULL;
        }
        loom_url_close(&base);
    }
    xmlFreeDoc(doc);
}

static int process_page(const struct work_item *w)
{
    struct loom_http_request_options o = {.timeout = {.total = demo_sec(3)}};
    struct loom_http_response *r;
    char err[LOOM_HTTP_ERRLEN], *body;
    int rc = loom_http_request(session, w->url, &o, &r, err, sizeof err);
    ssize_t n = rc < 0 ? rc : loom_http_response_read_all(r, &body, 1 << 20);
    if (n < 0) {
        printf("Error processing url %s: %s\n", w->url,
               rc < 0 ? err : loom_http_response_error(r));
        loom_http_response_close(r);
        return (int)n;
    }
    fetched++;
    long page = strncmp(w->url + strlen(origin), "/p/", 3) ? 0 : atol(w->url + strlen(origin) + 3);
    if (page >= 0 && page < 64 && !seen[page])
        distinct += seen[page] = true;
    if (w->item_depth == MAX_DEPTH)
        printf("Max depth reached, for %s\n", w->url);
    else
        put_links(w, body, (size_t)n);
    free(body);
    loom_http_response_close(r);
    return 0;
}

static intptr_t worker(void *arg)
{
    int worker_id = (int)(intptr_t)arg;
    for (;;) {
        void *item;
        int rc = loom_queue_get(&url_queue, &item, -1);
        if (rc < 0)
            return rc;
        struct work_item *w = item;
        printf("Worker %d: Processing %s\n", worker_id, w->url);
        process_page(w);
        printf("Worker %d: Finished %s\n", worker_id, w->url);
        free(w);
        loom_queue_task_done(&url_queue);
    }
}

static intptr_t main_task(void *arg)
{
    DEMO_CHECK(demo_site_session(site, &session));
    demo_site_url(site, "", origin, sizeof origin);
    loom_queue_init(&url_queue, 0);
    struct work_item *first = calloc(1, sizeof *first);
    DEMO_CHECK(first ? 0 : -ENOMEM);
    demo_site_url(site, "/", first->url, sizeof first->url);
    DEMO_CHECK(loom_queue_put_nowait(&url_queue, first));
    double t0 = demo_now();
    struct loom_task *workers[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        workers[i] = loom_spawn(worker, (void *)(intptr_t)i, NULL);
    DEMO_CHECK(loom_queue_join(&url_queue, -1));
    for (int i = 0; i < WORKERS; i++)
        loom_task_cancel(workers[i]);
    loom_gather(workers, WORKERS, NULL, LOOM_GATHER_ALL);
    printf("Fetched %d pages (%d distinct) in %.2f s; skipped %d off-site links\n", fetched,
           distinct, demo_now() - t0, skipped);
    loom_queue_close(&url_queue);
    loom_http_session_free(session);
    return 0;
}

int main(int argc, char **argv)
{
    demo_init(argc, argv, usage);
    struct demo_site_options o = {.tls = true, .delay_s = 0.1, .links = true};
    DEMO_CHECK(demo_site_start(&o, &site));
    intptr_t rc = loom_run(main_task, NULL);
    demo_site_stop(site);
    xmlCleanupParser();
    return (int)rc;
}
