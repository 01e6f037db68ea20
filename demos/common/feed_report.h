/* feed_report.h - loom-rss's output, apart from fetching: one fact a line for
 * each feed and entry link, the seed's summary counts, a progress line for a
 * terminal, and the --json report in the shape tests/tools/feed_farm.py
 * writes its expectations in (so `feed_farm.py --compare EXPECT REPORT`
 * checks a run). Everything from the network is printed through
 * demo_feed_print_safe(): no control character reaches the terminal.
 *
 * Line formats (fields separated by one space; a title is the rest of the line):
 *   feed URL OUTCOME STATUS TITLE          STATUS "-" when there was no response
 *   link URL STATUS                        STATUS 200, 404, ... or timeout / error
 *   len(htmls)=N
 *   len(entry_urls)=N
 *   feeds: ok=N http-404=N ...             outcomes, in first-seen order
 *   links: 200=N 404=N timeout=N ...       statuses, in first-seen order */
#ifndef LOOM_DEMOS_FEED_REPORT_H
#define LOOM_DEMOS_FEED_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "demos/common/feed.h"

/* A link status that is no HTTP status: the check timed out / failed otherwise. */
enum { DEMO_LINK_UNCHECKED = 0, DEMO_LINK_TIMEOUT = -1, DEMO_LINK_ERROR = -2 };

/* What loom-rss learnt about one feed. The caller fills it; the report reads it. */
struct demo_feed_result {
    const char *url;       /* as listed */
    const char *outcome;   /* "ok", "http-404", "redirect-loop", "timeout", "truncated",
                              "refused", "error", ... (a static string) */
    int status;            /* final HTTP status, 0 when no response came */
    const char *final_url; /* after redirects, or NULL */
    bool parsed;           /* a whole body came and went through the parser */
    int parse_rc;          /* its result (demo_feed_parse_name() names it) */
    struct demo_feed feed; /* entries (empty unless parsed) */
    int *link_status;      /* per entry: HTTP status or DEMO_LINK_*; NULL: none checked */
};

/* "200", "404", "timeout", "error", "unchecked" into buf (16 bytes are enough). */
const char *demo_link_status_name(int status, char *buf, size_t cap);

/* The "feed ..." line of r. */
void demo_feed_report_feed(FILE *f, const struct demo_feed_result *r);

/* The "link ..." line of one checked link. */
void demo_feed_report_link(FILE *f, const char *link, int status);

/* The summary lines over n results. htmls counts the feeds whose whole body
 * arrived (the seed kept 404 pages too); entry_urls every entry with a link. */
void demo_feed_report_summary(FILE *f, const struct demo_feed_result *r, size_t n);

/* The JSON report: {"feeds": [{url, outcome, status, final_url, parse, kind,
 * title, entries: [{link, title, status}]}], "links": {link: status},
 * "summary": {feeds, htmls, entry_urls, outcomes: {..}, link_statuses: {..}}}.
 * Strings are UTF-8 as parsed (JSON escapes control characters). Returns 0,
 * -ENOMEM or -EIO. */
int demo_feed_report_json(FILE *f, const struct demo_feed_result *r, size_t n);

/* Redraw the one-line progress display on a terminal ("\r...\033[K"); call
 * with done = true to end it with a newline. Prints nothing when f is not a
 * terminal (plain lines when piped). */
void demo_feed_report_progress(FILE *f, size_t feeds_done, size_t feeds, size_t links_done,
                               size_t links, size_t errors, bool done);

#endif
