/* listing_12_4.c - a web crawler on a queue with 100 workers (listing 12.4).
 *
 * 100 workers take (depth, url) items from a queue, GET the page (3 s timeout) and,
 * below depth 3, parse its HTML with libxml2 (the book's BeautifulSoup), resolve each
 * <a href> against the page's URL and queue the same-site ones (no de-duplication);
 * main waits for join(). The local HTTPS site (demos/common/site.c) has a link graph. */
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
    "Crawls a local HTTPS site (0.1 s a page, scaled) to depth 3 with 100 workers: 85 fetches.\n";

enum { MAX_DEPTH = 3, WORKERS = 100 };

struct work_item {
    int item_depth;
    char url[256];
};

static struct demo_site *site;
static struct loom_http_session *session;
static struct loom_queue url_queue;
static char origin[64];
static int fetched, distinct, skipped, seen[64];

/* Queue href (resolved against base) if it is on the site. */
static void put_link(const struct work_item *w, const struct loom_url *base, const char *href)
{
    struct loom_url u;
    char o[64];
    if (loom_url_resolve(&u, base, href, strlen(href)) < 0)
        return;
    struct work_item *next = NULL;
    if (loom_url_origin(&u, o, sizeof o) < 0 || strcmp(o, origin) != 0)
        skipped++; /* another site */
    else if ((next = calloc(1, sizeof *next)) &&
             loom_url_format(&u, next->url, sizeof next->url) >= 0) {
        next->item_depth = w->item_depth + 1;
        if (loom_queue_put_nowait(&url_queue, next) == 0)
            next = NULL; /* the queue owns it */
    }
    free(next);
    loom_url_close(&u);
}

/* soup.find_all('a', href=True) from node n on (libxml2 bounds the nesting). */
static void find_links(const struct work_item *w, const struct loom_url *base, xmlNodePtr n)
{
    for (; n; n = n->next) {
        xmlChar *href = NULL;
        if (n->type == XML_ELEMENT_NODE && !xmlStrcasecmp(n->name, BAD_CAST "a") &&
            (href = xmlGetProp(n, BAD_CAST "href")))
            put_link(w, base, (const char *)href);
        xmlFree(href);
        find_links(w, base, n->children);
    }
}

static void put_links(const struct work_item *w, const char *body, size_t len)
{
    struct loom_url base;
    htmlDocPtr doc = htmlReadMemory(body, (int)len, w->url, NULL,
                                    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    if (doc && loom_url_parse(&base, w->url, (size_t)-1) == 0) {
        find_links(w, &base, xmlDocGetRootElement(doc));
        loom_url_close(&base);
    }
    xmlFreeDoc(doc);
}

static void process_page(const struct work_item *w)
{
    struct loom_http_request_options o = {.timeout = {.total = demo_sec(3)}};
    struct loom_http_response *r = NULL;
    char err[LOOM_HTTP_ERRLEN] = "", *body = NULL;
    ssize_t n = loom_http_request(session, w->url, &o, &r, err, sizeof err);
    if (n == 0 && (n = loom_http_response_read_all(r, &body, 1 << 20)) < 0)
        snprintf(err, sizeof err, "%s", loom_http_response_error(r));
    long page = strncmp(w->url + strlen(origin), "/p/", 3) ? 0 : atol(w->url + strlen(origin) + 3);
    if (n >= 0 && page >= 0 && page < 64 && !seen[page]) /* for the summary */
        distinct += seen[page] = 1;
    fetched += n >= 0;
    if (n < 0)
        printf("Error processing url %s: %s\n", w->url, err);
    else if (w->item_depth == MAX_DEPTH)
        printf("Max depth reached, for %s\n", w->url);
    else
        put_links(w, body, (size_t)n);
    free(body);
    loom_http_response_close(r);
}

static intptr_t worker(void *arg)
{
    int worker_id = (int)(intptr_t)arg;
    for (void *item; loom_queue_get(&url_queue, &item, -1) == 0;) {
        struct work_item *w = item;
        printf("Worker %d: Processing %s\n", worker_id, w->url);
        process_page(w);
        printf("Worker %d: Finished %s\n", worker_id, w->url);
        free(w);
        loom_queue_task_done(&url_queue);
    }
    return -ECANCELED;
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
    struct loom_task *workers[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        workers[i] = loom_spawn(worker, (void *)(intptr_t)i, NULL);
    DEMO_CHECK(loom_queue_join(&url_queue, -1));
    for (int i = 0; i < WORKERS; i++)
        loom_task_cancel(workers[i]);
    loom_gather(workers, WORKERS, NULL, LOOM_GATHER_ALL);
    printf("Fetched %d pages (%d distinct); skipped %d off-site links\n", fetched, distinct,
           skipped);
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
