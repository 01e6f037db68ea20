/* feed.h - the feed parser of loom-rss: RSS 2.0, Atom and RDF/RSS 1.0 read
 * with libxml2's push parser as the bytes arrive.
 *
 * Out of a feed it takes the feed's title and, per entry, an absolute link and
 * a title. Namespaces are matched by URI, whatever the prefix; CDATA and
 * entities are decoded; relative links are resolved against the xml:base chain
 * in scope and the feed's final URL. Titles come out as valid UTF-8 with runs of
 * white space collapsed (not yet sanitised for a terminal: see
 * demo_feed_print_safe()).
 *
 * Charset, in RFC 7303's order: a byte-order mark (UTF-8, UTF-16LE/BE), then
 * the Content-Type charset the caller passes, then the XML declaration, else
 * UTF-8. libxml2 converts through iconv (windows-1251, koi8-r, ...). A charset
 * nobody knows is ignored (the next source in the order decides).
 *
 * XML from the network is hostile: no DTD is loaded, no external entity is
 * read, nothing touches the network (XML_PARSE_NONET, and an entity loader
 * that refuses everything), libxml2's amplification checks stay on (no
 * XML_PARSE_NOENT, no XML_PARSE_HUGE). On top, the internal subset may only
 * declare up to 64 small internal entities that reference no other entity
 * (a billion-laughs document fails at its second declaration), and text
 * delivered may not exceed three times the input plus 1 MiB (a quadratic
 * blow-up fails once over). Every size the peer controls is capped (struct
 * demo_feed_limits). */
#ifndef LOOM_DEMOS_FEED_H
#define LOOM_DEMOS_FEED_H

#include <stddef.h>
#include <stdio.h>

/* Errors of the feed parser, below loom's own codes (reactor/error.h). */
enum {
    DEMO_FEED_EXML = -4201,     /* not well-formed XML (message: demo_feed_parser_errmsg) */
    DEMO_FEED_ENOTFEED = -4202, /* well-formed so far, but the root is not rss/feed/RDF */
    DEMO_FEED_ETOOBIG = -4203,  /* more bytes than limits.max_bytes */
    DEMO_FEED_EENTITY = -4204,  /* an entity declaration or expansion refused (see feed.h) */
    DEMO_FEED_EEMPTY = -4205,   /* the input ended before the root element closed */
};

enum demo_feed_kind { DEMO_FEED_UNKNOWN, DEMO_FEED_RSS, DEMO_FEED_ATOM, DEMO_FEED_RDF };

/* Caps on what a feed may make the parser hold. Zero fields take the defaults. */
struct demo_feed_limits {
    size_t max_entries; /* entries kept; the rest are counted in dropped (10,000) */
    size_t max_title;   /* bytes of a title; longer ones are cut at a character (1,024) */
    size_t max_link;    /* bytes of a link; a longer one is dropped, not cut (4,096) */
    size_t max_bytes;   /* bytes of input in all (16 MiB) */
};

struct demo_feed_entry {
    char *link;  /* absolute URL, or NULL when the entry has none (or it was unusable) */
    char *title; /* UTF-8, white space collapsed; "" when absent */
};

/* A parsed feed. Owned: release with demo_feed_free(). */
struct demo_feed {
    enum demo_feed_kind kind;
    char *title;                     /* UTF-8, white space collapsed; "" when absent */
    struct demo_feed_entry *entries; /* in document order */
    size_t n_entries;
    size_t dropped;    /* entries past max_entries (not kept) */
    size_t bad_links;  /* links too long or not resolvable (their entry keeps link NULL) */
    char encoding[32]; /* the charset used ("UTF-8", "windows-1251", ...) */
};

struct demo_feed_parser;

/* The name of a kind: "rss", "atom", "rdf", "unknown". */
const char *demo_feed_kind_name(enum demo_feed_kind kind);

/* A message for a DEMO_FEED_E* code, or loom_strerror() for anything else. */
const char *demo_feed_strerror(int err);

/* Start parsing a feed fetched from base_url (its final URL, after redirects:
 * relative links resolve against it). charset is the Content-Type charset
 * parameter or NULL. limits may be NULL. Returns 0 and *out, or -ENOMEM or
 * -EINVAL (base_url NULL or not an absolute URL). Pair with demo_feed_parser_free().
 * Installs, process-wide, a libxml2 external-entity loader that refuses
 * everything. Parsers are independent; one parser is used by one thread. */
int demo_feed_parser_new(struct demo_feed_parser **out, const char *base_url, const char *charset,
                         const struct demo_feed_limits *limits);

/* Feed the next len bytes, as they arrived (any split is fine). Returns 0, or
 * the first error (sticky: later calls return it again and parse nothing). */
int demo_feed_parser_push(struct demo_feed_parser *p, const void *buf, size_t len);

/* End of input. Moves what was parsed into *feed (always, even on error: the
 * entries seen before the error) and returns 0 or the error. *feed must then be
 * released with demo_feed_free(). Call once. */
int demo_feed_parser_finish(struct demo_feed_parser *p, struct demo_feed *feed);

/* libxml2's message for the error (line number included), or "" if none. A
 * view valid until demo_feed_parser_free(). Not sanitised for a terminal. */
const char *demo_feed_parser_errmsg(const struct demo_feed_parser *p);

/* Free the parser (NULL is fine). */
void demo_feed_parser_free(struct demo_feed_parser *p);

/* One shot: parse buf[0..len) as one push and finish. Same contract. */
int demo_feed_parse(const void *buf, size_t len, const char *base_url, const char *charset,
                    const struct demo_feed_limits *limits, struct demo_feed *feed);

/* Release what a feed owns and zero it (a zeroed feed is fine). */
void demo_feed_free(struct demo_feed *feed);

/* The charset parameter of a Content-Type value ("text/xml; charset=koi8-r"),
 * unquoted, into buf (cap bytes). Returns buf, or NULL when there is none or it
 * does not fit or holds characters no charset name has. */
char *demo_feed_content_charset(const char *content_type, char *buf, size_t cap);

/* The outcome name of a parse result, as loom-rss prints it and the feed farm
 * (tests/tools/feed_farm.py) expects it: "ok", "xml-error", "not-a-feed",
 * "entity-refused", "too-big", "incomplete"; loom_errname() for anything else. */
const char *demo_feed_parse_name(int rc);

/* Read a feed list: one URL a line; blank lines and lines starting with '#'
 * (after white space) are skipped; white space around a URL is trimmed. At
 * most max_urls URLs of at most 4,096 bytes each. Returns the count and
 * *urls (owned: demo_feed_list_free()), or -errno from fopen/read, -ENOMEM,
 * LOOM_ELIMIT (too many URLs or a line too long: *line gets its number) or
 * -EINVAL (a control character or a byte >= 0x80 in a URL: *line likewise). */
int demo_feed_list_load(const char *path, size_t max_urls, char ***urls, size_t *line);

/* Free what demo_feed_list_load() returned. */
void demo_feed_list_free(char **urls, size_t n);

/* Write network text s to f so a terminal cannot be driven by it: control
 * characters (C0, DEL, C1, and so every escape sequence) become visible
 * symbols and invalid UTF-8 becomes U+FFFD (net/utf8.h's sanitiser). Newlines
 * and tabs are shown as symbols too: one fact stays on one line. */
void demo_feed_print_safe(FILE *f, const char *s);

#endif
