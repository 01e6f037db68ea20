/* feed_report.c - loom-rss's lines, summary, JSON report and progress line
 * (see feed_report.h). */
#include "demos/common/feed_report.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

const char *demo_link_status_name(int status, char *buf, size_t cap)
{
    if (status > 0)
        snprintf(buf, cap, "%d", status);
    else
        snprintf(buf, cap, "%s",
                 status == DEMO_LINK_TIMEOUT ? "timeout"
                 : status == DEMO_LINK_ERROR ? "error"
                                             : "unchecked");
    return buf;
}

void demo_feed_report_feed(FILE *f, const struct demo_feed_result *r)
{
    fputs("feed ", f);
    demo_feed_print_safe(f, r->url);
    fprintf(f, " %s ", r->outcome);
    if (r->status > 0)
        fprintf(f, "%d", r->status);
    else
        fputc('-', f);
    if (r->feed.title && *r->feed.title) {
        fputc(' ', f);
        demo_feed_print_safe(f, r->feed.title);
    }
    fputc('\n', f);
}

void demo_feed_report_link(FILE *f, const char *link, int status)
{
    char buf[16];
    fputs("link ", f);
    demo_feed_print_safe(f, link);
    fprintf(f, " %s\n", demo_link_status_name(status, buf, sizeof buf));
}

/* A tally of names in first-seen order (a handful of outcomes or statuses). */
struct tally {
    struct {
        char name[24];
        size_t count;
    } v[32];
    size_t n;
};

static void tally_add(struct tally *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i].name, name)) {
            t->v[i].count++;
            return;
        }
    if (t->n == sizeof t->v / sizeof t->v[0])
        return; /* more kinds than anyone reads: the rest are not listed */
    snprintf(t->v[t->n].name, sizeof t->v[t->n].name, "%s", name);
    t->v[t->n++].count = 1;
}

static void tally_print(FILE *f, const char *label, const struct tally *t)
{
    fputs(label, f);
    for (size_t i = 0; i < t->n; i++)
        fprintf(f, " %s=%zu", t->v[i].name, t->v[i].count);
    fputc('\n', f);
}

/* Both tallies and the seed's two counts. */
static void count(const struct demo_feed_result *r, size_t n, struct tally *outcomes,
                  struct tally *statuses, size_t *htmls, size_t *entry_urls)
{
    char buf[16];
    *htmls = *entry_urls = 0;
    for (size_t i = 0; i < n; i++) {
        tally_add(outcomes, r[i].outcome);
        *htmls += r[i].parsed;
        for (size_t j = 0; j < r[i].feed.n_entries; j++) {
            if (!r[i].feed.entries[j].link)
                continue;
            ++*entry_urls;
            if (r[i].link_status)
                tally_add(statuses, demo_link_status_name(r[i].link_status[j], buf, sizeof buf));
        }
    }
}

void demo_feed_report_summary(FILE *f, const struct demo_feed_result *r, size_t n)
{
    struct tally outcomes = {.n = 0}, statuses = {.n = 0};
    size_t htmls, entry_urls;
    count(r, n, &outcomes, &statuses, &htmls, &entry_urls);
    fprintf(f, "len(htmls)=%zu\nlen(entry_urls)=%zu\n", htmls, entry_urls);
    tally_print(f, "feeds:", &outcomes);
    tally_print(f, "links:", &statuses);
}

/* A link status as JSON: the number, or "timeout" / "error" / null. */
static json_t *status_json(int status)
{
    if (status > 0)
        return json_integer(status);
    if (status == DEMO_LINK_UNCHECKED)
        return json_null();
    return json_string(status == DEMO_LINK_TIMEOUT ? "timeout" : "error");
}

static json_t *feed_json(const struct demo_feed_result *r, json_t *links)
{
    json_t *entries = json_array();
    for (size_t j = 0; j < r->feed.n_entries; j++) {
        const struct demo_feed_entry *e = &r->feed.entries[j];
        int st = r->link_status ? r->link_status[j] : DEMO_LINK_UNCHECKED;
        json_array_append_new(entries, json_pack("{s:s?, s:s, s:o}", "link", e->link, "title",
                                                 e->title, "status", status_json(st)));
        if (e->link)
            json_object_set_new(links, e->link, status_json(st));
    }
    json_t *o = json_pack("{s:s, s:s, s:o, s:s?, s:o}", "url", r->url, "outcome", r->outcome,
                          "status", r->status > 0 ? json_integer(r->status) : json_null(),
                          "final_url", r->final_url, "entries", entries);
    if (o && r->parsed)
        json_object_update_new(o, json_pack("{s:s, s:s, s:s}", "parse",
                                            demo_feed_parse_name(r->parse_rc), "kind",
                                            demo_feed_kind_name(r->feed.kind), "title",
                                            r->feed.title ? r->feed.title : ""));
    return o;
}

static json_t *tally_json(const struct tally *t)
{
    json_t *o = json_object();
    for (size_t i = 0; i < t->n; i++)
        json_object_set_new(o, t->v[i].name, json_integer((json_int_t)t->v[i].count));
    return o;
}

int demo_feed_report_json(FILE *f, const struct demo_feed_result *r, size_t n)
{
    json_t *feeds = json_array(), *links = json_object();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(feeds, feed_json(&r[i], links));
    struct tally outcomes = {.n = 0}, statuses = {.n = 0};
    size_t htmls, entry_urls;
    count(r, n, &outcomes, &statuses, &htmls, &entry_urls);
    json_t *doc = json_pack("{s:o, s:o, s:{s:I, s:I, s:I, s:o, s:o}}", "feeds", feeds, "links",
                            links, "summary", "feeds", (json_int_t)n, "htmls", (json_int_t)htmls,
                            "entry_urls", (json_int_t)entry_urls, "outcomes", tally_json(&outcomes),
                            "link_statuses", tally_json(&statuses));
    if (!doc)
        return -ENOMEM;
    int rc = json_dumpf(doc, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER) == 0 ? 0 : -EIO;
    fputc('\n', f);
    json_decref(doc);
    return rc;
}

void demo_feed_report_progress(FILE *f, size_t feeds_done, size_t feeds, size_t links_done,
                               size_t links, size_t errors, bool done)
{
    if (!isatty(fileno(f)))
        return;
    enum { WIDTH = 30 };
    size_t all = feeds + links, now = feeds_done + links_done;
    size_t fill = all ? now * WIDTH / all : WIDTH;
    char bar[WIDTH + 1];
    memset(bar, '#', fill);
    memset(bar + fill, '.', WIDTH - fill);
    bar[WIDTH] = '\0';
    fprintf(f, "\r[%s] feeds %zu/%zu  links %zu/%zu  errors %zu\033[K%s", bar, feeds_done, feeds,
            links_done, links, errors, done ? "\n" : "");
    fflush(f);
}
