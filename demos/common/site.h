/* site.h - the local web site the HTTP listings talk to instead of the
 * internet: loom's own HTTP server (and TLS) on 127.0.0.1 in a thread of its
 * own, with a certificate authority made at run time that the demo's client
 * is told to trust.
 *
 * It serves the book's hazadus.ru paths (/, /repos/, /about/, /projects/) and
 * any other path with 200 and a small HTML page, "/status/N" with status N,
 * and every request waits `delay` seconds (scaled) before answering, or the
 * ?delay=SECONDS of its query (also scaled). It counts requests, the most
 * connections it held at once and the most requests it answered at once, so
 * a demo can show its concurrency (or lack of it). */
#ifndef LOOM_DEMOS_SITE_H
#define LOOM_DEMOS_SITE_H

#include <stdbool.h>
#include <stddef.h>

struct demo_site;

struct demo_site_options {
    bool tls;       /* serve https (the CA is in demo_site_ca_file) */
    double delay_s; /* per-request latency before the answer (book seconds, scaled) */
    bool links;     /* "/" and "/p/N" are pages of a link graph (see below) */
};

/* With links, page N ("/" is page 0, "/p/N" page N) is loose HTML (unquoted and
 * upper-case attributes, unclosed tags, entities) whose <a href> point to pages
 * 3N+1 (an absolute path), 3N+2 (a relative "../p/" path), 3N+3 (an absolute
 * URL of the site), the root, and a page of another site (example.invalid);
 * plus an <a> without href. So a crawler following same-site links to depth D
 * fetches 1 + 4 + ... + 4^D pages. */

/* Start the site (makes the certificates when tls). Returns 0 or a negative
 * loom/errno code. */
int demo_site_start(const struct demo_site_options *o, struct demo_site **out);

/* "https://127.0.0.1:PORT" + path into buf (NUL-terminated); returns buf. */
const char *demo_site_url(const struct demo_site *s, const char *path, char *buf, size_t cap);

/* The port the site listens on (127.0.0.1). */
int demo_site_port(const struct demo_site *s);

/* The PEM file of the certificate authority that signed the site's certificate. */
const char *demo_site_ca_file(const struct demo_site *s);

/* Requests answered so far, the most connections held at one time (a closed
 * connection counts until the server has seen it close), and the most
 * requests being answered at one time (exact). */
unsigned long demo_site_requests(const struct demo_site *s);
unsigned demo_site_max_connections(const struct demo_site *s);
unsigned demo_site_max_in_flight(const struct demo_site *s);

/* Stop serving, join the thread, delete the certificates. NULL is ignored. */
void demo_site_stop(struct demo_site *s);

/* --- the client side of the listings --- */

struct loom_http_session;

/* A session on the current loop that trusts the site's CA (checks stay on).
 * Free it with loom_http_session_free(). Returns 0 or a negative code. */
int demo_site_session(const struct demo_site *s, struct loom_http_session **out);

/* The book's chapter_04 fetch_status(session, url, delay): sleep delay seconds
 * (scaled), GET url, read the body (so the connection is kept), close the
 * response and return its status, or a negative code with the reason in err
 * (may be NULL). Suspends. */
int demo_fetch_status(struct loom_http_session *s, const char *url, double delay, char *err,
                      size_t errlen);

/* requests.get(url).status_code for threads (never from a loop's thread): a
 * blocking GET of path on the site, trusting its CA, the body read and
 * dropped. Returns the status, or a negative code after printing why to
 * stderr. Blocks the calling thread. */
int demo_site_get_blocking(const struct demo_site *s, const char *path);

/* --- certificates (OpenSSL), also for the tests --- */

/* Make, in directory dir, "ca.pem" (a CA certificate), and "cert.pem" + "key.pem"
 * (a P-256 key and a certificate for 127.0.0.1 and localhost signed by that CA,
 * valid from an hour ago for days days; days < 0 makes it expired). Returns 0
 * or -EIO. */
int demo_certs_make(const char *dir, int days);

#endif
