/* feed.c - RSS 2.0 / Atom / RDF feed parser over libxml2's SAX2 push parser.
 *
 * The parser keeps a stack of open elements, each with a role (root, channel,
 * entry, a title or link being captured, or nothing of interest) and the base
 * URI in scope (xml:base resolved against the parent's, the feed's URL at the
 * root). Text is captured only inside the element being read, into a bounded
 * buffer. The charset is decided before libxml2 sees a byte (RFC 7303 order,
 * see feed.h) and handed to it with XML_PARSE_IGNORE_ENC, so the declaration
 * can neither override the BOM or Content-Type nor name a charset libxml2
 * would fail on. Links are resolved by net/url.h (RFC 3986). */
#include "demos/common/feed.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <libxml/parserInternals.h>

#include "net/url.h"
#include "net/utf8.h"
#include "reactor/error.h"

#define NS_ATOM "http://www.w3.org/2005/Atom"
#define NS_ATOM03 "http://purl.org/atom/ns#"
#define NS_RSS1 "http://purl.org/rss/1.0/"
#define NS_RSS09 "http://my.netscape.com/rdf/simple/0.9/"
#define NS_RDF "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
#define NS_XML "http://www.w3.org/XML/1998/namespace"

enum { MAX_DEPTH = 300, SNIFF_MAX = 512, MAX_ENTITIES = 64, MAX_ENTITY_LEN = 1024 };
enum ns { NS_NONE, NS_IS_ATOM, NS_IS_RSS1, NS_IS_RDF, NS_OTHER };
enum role { R_NONE, R_ROOT, R_CHANNEL, R_ENTRY, R_FEED_TITLE, R_ENTRY_TITLE, R_LINK, R_GUID };

struct frame {
    enum role role;
    const char *base; /* base URI in scope: own, or an ancestor's; NULL: unusable */
    char *own;        /* set when this element had xml:base */
};

/* The entry being read. */
struct cur {
    bool open;
    char *link;  /* from <link> text or an Atom alternate href */
    char *guid;  /* a permalink guid, the fallback */
    char *about; /* rdf:about, the RDF fallback */
    char *title;
    bool bad_link;
};

struct demo_feed_parser {
    xmlParserCtxtPtr ctxt;
    struct demo_feed_limits lim;
    char *url;                     /* the feed's final URL: the outermost base */
    char *charset;                 /* Content-Type charset, or NULL */
    unsigned char head[SNIFF_MAX]; /* bytes held until the charset is decided */
    size_t nhead;
    size_t total; /* bytes pushed so far */
    size_t chars; /* bytes of text libxml2 delivered (entity expansions included) */
    int entities; /* entity declarations accepted */
    int err;      /* first error, sticky */
    char errmsg[256];
    int depth; /* open elements (frames used: min(depth, MAX_DEPTH)) */
    struct frame frames[MAX_DEPTH];
    int cap_depth; /* depth of the element whose text is captured, -1 if none */
    bool cap_html; /* the captured title is escaped HTML (Atom type="html") */
    char *text;    /* captured text */
    size_t text_len, text_cap, text_max;
    struct cur cur;
    size_t entries_cap;
    struct demo_feed feed;
};

static const struct demo_feed_limits default_limits = {
    .max_entries = 10000, .max_title = 1024, .max_link = 4096, .max_bytes = 16u << 20};

const char *demo_feed_kind_name(enum demo_feed_kind kind)
{
    switch (kind) {
    case DEMO_FEED_RSS:
        return "rss";
    case DEMO_FEED_ATOM:
        return "atom";
    case DEMO_FEED_RDF:
        return "rdf";
    default:
        return "unknown";
    }
}

const char *demo_feed_strerror(int err)
{
    switch (err) {
    case DEMO_FEED_EXML:
        return "not well-formed XML";
    case DEMO_FEED_ENOTFEED:
        return "not a feed (root is not rss, feed or rdf:RDF)";
    case DEMO_FEED_ETOOBIG:
        return "feed larger than the size limit";
    case DEMO_FEED_EENTITY:
        return "entity expansion refused (amplification or loop)";
    case DEMO_FEED_EEMPTY:
        return "document ended before the root element closed";
    default:
        return loom_strerror(err);
    }
}

/* --- small string helpers --- */

static char *xstrdup(const char *s) { return s ? strdup(s) : NULL; }

static bool is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* s with leading/trailing white space removed and inner runs made one space. */
static char *collapse(const char *s, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    if (!out)
        return NULL;
    bool space = false;
    for (size_t i = 0; i < len; i++) {
        if (is_ws((unsigned char)s[i])) {
            space = o != out;
            continue;
        }
        if (space)
            *o++ = ' ';
        space = false;
        *o++ = s[i];
    }
    *o = '\0';
    return out;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int decval(int c) { return c >= '0' && c <= '9' ? c - '0' : -1; }

/* Encode code point cp as UTF-8 into o; returns bytes written (U+FFFD for bad ones). */
static size_t put_utf8(char *o, unsigned long cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decode one HTML character reference at s ("&amp;", "&#8212;", "&#x2014;");
 * returns its length and writes the character to *o, or 0 if it is none we know.
 * An entity reference is at most 10 bytes, so the output (<= 4) never grows. */
static size_t html_ref(const char *s, char *o, size_t *olen)
{
    static const struct {
        const char *name;
        const char *text;
    } named[] = {{"amp;", "&"},
                 {"lt;", "<"},
                 {"gt;", ">"},
                 {"quot;", "\""},
                 {"apos;", "'"},
                 {"nbsp;", "\xC2\xA0"},
                 {"mdash;", "\xE2\x80\x94"},
                 {"ndash;", "\xE2\x80\x93"},
                 {"hellip;", "\xE2\x80\xA6"},
                 {"laquo;", "\xC2\xAB"},
                 {"raquo;", "\xC2\xBB"}};
    if (s[1] == '#') {
        bool hex = s[2] == 'x' || s[2] == 'X';
        size_t i = hex ? 3 : 2;
        unsigned long cp = 0;
        int d;
        for (; i < 10 && (d = hex ? hexval(s[i]) : decval(s[i])) >= 0; i++)
            cp = cp * (hex ? 16 : 10) + (unsigned long)d;
        if (s[i] != ';' || i == (hex ? 3u : 2u))
            return 0;
        *olen = put_utf8(o, cp);
        return i + 1;
    }
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
        size_t n = strlen(named[k].name);
        if (strncmp(s + 1, named[k].name, n) == 0) {
            *olen = strlen(named[k].text);
            memcpy(o, named[k].text, *olen);
            return n + 1;
        }
    }
    return 0;
}

/* Escaped HTML (an Atom type="html" title) to plain text in place: tags
 * removed, character references decoded. */
static void html_to_text(char *s)
{
    char *o = s;
    for (const char *i = s; *i;) {
        if (*i == '<') {
            const char *gt = strchr(i, '>');
            if (gt) { /* a tag goes; <br> and block ends would want a space, inline ones not */
                i = gt + 1;
                continue;
            }
        }
        size_t olen, n = *i == '&' ? html_ref(i, o, &olen) : 0;
        if (n) {
            o += olen, i += n;
            continue;
        }
        *o++ = *i++;
    }
    *o = '\0';
}

/* --- link resolution --- */

/* True if s starts with a URI scheme and ':' (RFC 3986 section 3.1). */
static bool has_scheme(const char *s)
{
    if (!((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z'))
        return false;
    while (*++s && *s != ':')
        if (!(((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') || (*s >= '0' && *s <= '9') || *s == '+' ||
              *s == '-' || *s == '.'))
            return false;
    return *s == ':';
}

/* ref (trimmed) resolved against the absolute URL base by net/url.h (RFC 3986
 * section 5.2; bytes a URI may not hold, such as spaces and non-ASCII, come out
 * percent-encoded): a malloc'd absolute URL, or NULL when ref is empty, longer
 * than max, or unusable (control characters, a bad host or port). A NULL base
 * (an xml:base that was unusable) resolves only absolute refs. */
static char *resolve(const char *base, const char *ref, size_t max)
{
    while (is_ws((unsigned char)*ref))
        ref++;
    size_t n = strlen(ref);
    while (n && is_ws((unsigned char)ref[n - 1]))
        n--;
    if (n == 0 || n > max)
        return NULL;
    struct loom_url b, u;
    int rc;
    if (!base) {
        rc = loom_url_parse(&u, ref, n);
    } else {
        if (loom_url_parse(&b, base, (size_t)-1) < 0)
            return NULL;
        rc = loom_url_resolve(&u, &b, ref, n);
        loom_url_close(&b);
    }
    if (rc < 0)
        return NULL;
    char *out = malloc(max + 1);
    if (out && loom_url_format(&u, out, max + 1) < 0) {
        free(out);
        out = NULL;
    }
    loom_url_close(&u);
    return out;
}

/* --- errors --- */

static void set_error(struct demo_feed_parser *p, int err, const char *msg)
{
    if (p->err)
        return;
    p->err = err;
    if (msg)
        snprintf(p->errmsg, sizeof p->errmsg, "%s", msg);
    if (p->ctxt)
        xmlStopParser(p->ctxt);
}

/* libxml2's structured error handler: keeps the first fatal error; warnings
 * and namespace errors (level ERROR, parsing goes on) are ignored. */
static void on_error(void *ud, xmlErrorPtr e)
{
    struct demo_feed_parser *p = ((xmlParserCtxtPtr)ud)->_private;
    if (e->level != XML_ERR_FATAL || p->err)
        return;
    char msg[256];
    size_t n = snprintf(msg, sizeof msg, "line %d: %s", e->line, e->message ? e->message : "?");
    while (n > 0 && n < sizeof msg && msg[n - 1] == '\n')
        msg[--n] = '\0';
    bool entity = e->code == XML_ERR_ENTITY_LOOP;
    set_error(p, entity ? DEMO_FEED_EENTITY : DEMO_FEED_EXML, msg);
}

/* --- entries --- */

static void cur_clear(struct cur *c)
{
    free(c->link), free(c->guid), free(c->about), free(c->title);
    memset(c, 0, sizeof *c);
}

static void entry_end(struct demo_feed_parser *p)
{
    struct cur *c = &p->cur;
    struct demo_feed *f = &p->feed;
    if (f->n_entries == p->lim.max_entries) {
        f->dropped++;
        cur_clear(c);
        return;
    }
    if (f->n_entries == p->entries_cap) {
        size_t cap = p->entries_cap ? 2 * p->entries_cap : 16;
        void *e = realloc(f->entries, cap * sizeof *f->entries);
        if (!e) {
            cur_clear(c);
            set_error(p, -ENOMEM, NULL);
            return;
        }
        f->entries = e, p->entries_cap = cap;
    }
    struct demo_feed_entry *e = &f->entries[f->n_entries++];
    char **pick = c->link ? &c->link : c->guid ? &c->guid : c->about ? &c->about : NULL;
    e->link = pick ? *pick : NULL;
    if (pick)
        *pick = NULL;
    if (!e->link && c->bad_link)
        f->bad_links++;
    e->title = c->title ? c->title : strdup("");
    c->title = NULL;
    cur_clear(c);
}

/* --- text capture --- */

static void capture(struct demo_feed_parser *p, size_t max, bool html)
{
    p->cap_depth = p->depth - 1; /* the frame index of the element just opened */
    p->cap_html = html;
    p->text_len = 0;
    p->text_max = max;
}

static void on_chars(void *ud, const xmlChar *s, int len)
{
    struct demo_feed_parser *p = ((xmlParserCtxtPtr)ud)->_private;
    if (len <= 0 || p->err)
        return;
    /* Decoding never makes text more than 3 times its input (one byte of
     * windows-1251 or koi8-r to three of UTF-8); more means entity expansion. */
    p->chars += (size_t)len;
    if (p->chars > 3 * p->total + (1u << 20)) {
        set_error(p, DEMO_FEED_EENTITY, "entity expansion over the text budget: refused");
        return;
    }
    if (p->cap_depth < 0)
        return;
    size_t n = (size_t)len, room = p->text_max + 1 - p->text_len; /* +1: to see overflow */
    if (n > room)
        n = room;
    if (p->text_len + n > p->text_cap) {
        size_t cap = p->text_cap ? p->text_cap : 256;
        while (cap < p->text_len + n)
            cap *= 2;
        char *t = realloc(p->text, cap + 1);
        if (!t) {
            set_error(p, -ENOMEM, NULL);
            return;
        }
        p->text = t, p->text_cap = cap;
    }
    memcpy(p->text + p->text_len, s, n);
    p->text_len += n;
    p->text[p->text_len] = '\0';
}

/* The captured text as a title: cut to max at a character boundary, HTML
 * decoded if marked so, white space collapsed. */
static char *take_title(struct demo_feed_parser *p)
{
    size_t n = p->text_len;
    if (n > p->lim.max_title) {
        n = p->lim.max_title;
        while (n > 0 && ((unsigned char)p->text[n] & 0xC0) == 0x80)
            n--; /* back to the start of the cut character */
    }
    char *t = collapse(p->text ? p->text : "", n);
    if (t && p->cap_html) {
        html_to_text(t);
        char *c = collapse(t, strlen(t));
        free(t);
        t = c;
    }
    if (t && !loom_utf8_valid(t, strlen(t))) {
        /* libxml2 lets some malformed UTF-8 through (overlong forms): a title is
         * always valid UTF-8, so each bad sequence becomes U+FFFD. */
        size_t len = strlen(t);
        char *v = malloc(LOOM_UTF8_SANITIZE_MAX(len));
        if (v)
            loom_utf8_sanitize(v, LOOM_UTF8_SANITIZE_MAX(len), t, len,
                               LOOM_UTF8_ALLOW_TAB | LOOM_UTF8_ALLOW_LF | LOOM_UTF8_ALLOW_CR);
        free(t);
        t = v;
    }
    if (!t)
        set_error(p, -ENOMEM, NULL);
    return t;
}

/* The captured text as a link resolved against the element's base. */
static char *take_link(struct demo_feed_parser *p, const char *base, bool *bad)
{
    if (p->text_len > p->lim.max_link) {
        *bad = true;
        return NULL;
    }
    char *l = resolve(base, p->text ? p->text : "", p->lim.max_link);
    if (!l && p->text_len > 0) {
        const char *s = p->text;
        while (is_ws((unsigned char)*s))
            s++;
        *bad = *bad || *s; /* non-empty, yet unusable */
    }
    return l;
}

/* --- elements --- */

static enum ns ns_of(const xmlChar *uri)
{
    const char *u = (const char *)uri;
    if (!u || !*u)
        return NS_NONE;
    if (!strcmp(u, NS_ATOM) || !strcmp(u, NS_ATOM03))
        return NS_IS_ATOM;
    if (!strcmp(u, NS_RSS1) || !strcmp(u, NS_RSS09))
        return NS_IS_RSS1;
    return !strcmp(u, NS_RDF) ? NS_IS_RDF : NS_OTHER;
}

/* The namespace entries and their children live in, by feed kind. */
static enum ns entry_ns(const struct demo_feed_parser *p)
{
    switch (p->feed.kind) {
    case DEMO_FEED_ATOM:
        return NS_IS_ATOM;
    case DEMO_FEED_RDF:
        return NS_IS_RSS1;
    default:
        return NS_NONE;
    }
}

/* An attribute value as delivered without entity substitution: libxml2 keeps
 * '&' (from &amp; or &#38;) as "&#38;" so a tree could be re-serialised; every
 * other reference is already replaced. Turn it back into '&'. */
static char *attr_value(const xmlChar *v, const xmlChar *end)
{
    char *out = strndup((const char *)v, (size_t)(end - v)), *o = out;
    if (!out)
        return NULL;
    for (const char *s = out; *s;) {
        if (!strncmp(s, "&#38;", 5))
            *o++ = '&', s += 5;
        else
            *o++ = *s++;
    }
    *o = '\0';
    return out;
}

/* SAX2 attributes come as 5 pointers each: local, prefix, URI, value, end. */
static char *attr(const xmlChar **a, int n, const char *uri, const char *local)
{
    for (int i = 0; i < n; i++, a += 5) {
        bool uri_ok = uri ? a[2] && !strcmp((const char *)a[2], uri) : !a[2];
        if (uri_ok && !strcmp((const char *)a[0], local))
            return attr_value(a[3], a[4]);
    }
    return NULL;
}

static enum role root_role(struct demo_feed_parser *p, const char *name, enum ns ns)
{
    if (!strcmp(name, "rss") && ns == NS_NONE)
        p->feed.kind = DEMO_FEED_RSS;
    else if (!strcmp(name, "feed") && ns == NS_IS_ATOM)
        p->feed.kind = DEMO_FEED_ATOM;
    else if (!strcmp(name, "RDF") && ns == NS_IS_RDF)
        p->feed.kind = DEMO_FEED_RDF;
    else {
        char msg[128];
        snprintf(msg, sizeof msg, "root element <%.64s> is not rss, feed or rdf:RDF", name);
        set_error(p, DEMO_FEED_ENOTFEED, msg);
    }
    return R_ROOT;
}

/* An Atom <link> inside an entry: the first rel="alternate" or rel-less one is the entry's. */
static void atom_link(struct demo_feed_parser *p, const xmlChar **a, int n, const char *base)
{
    char *rel = attr(a, n, NULL, "rel"), *href = attr(a, n, NULL, "href");
    if (href && !p->cur.link && (!rel || !strcmp(rel, "alternate"))) {
        p->cur.link = resolve(base, href, p->lim.max_link);
        p->cur.bad_link |= !p->cur.link;
    }
    free(rel), free(href);
}

/* The role of a new element from its parent's role and its own name. */
static enum role child_role(struct demo_feed_parser *p, enum role parent, const char *name,
                            enum ns ns, const xmlChar **a, int n)
{
    bool ens = ns == entry_ns(p), atom = p->feed.kind == DEMO_FEED_ATOM;
    switch (parent) {
    case R_ROOT:
        if (atom)
            return !ens                     ? R_NONE
                   : !strcmp(name, "title") ? R_FEED_TITLE
                   : !strcmp(name, "entry") ? R_ENTRY
                                            : R_NONE;
        if (!strcmp(name, "channel") && ens)
            return R_CHANNEL;
        return !strcmp(name, "item") && ens ? R_ENTRY : R_NONE; /* RDF; RSS tolerated */
    case R_CHANNEL:
        if (!ens)
            return R_NONE;
        return !strcmp(name, "title") ? R_FEED_TITLE : !strcmp(name, "item") ? R_ENTRY : R_NONE;
    case R_ENTRY:
        if (!ens)
            return R_NONE;
        if (!strcmp(name, "title"))
            return R_ENTRY_TITLE;
        if (!strcmp(name, "link"))
            return atom ? R_NONE : R_LINK; /* Atom links are read from attributes */
        if (!strcmp(name, "guid") && p->feed.kind == DEMO_FEED_RSS) {
            char *perma = attr(a, n, NULL, "isPermaLink");
            bool yes = !perma || strcasecmp(perma, "false") != 0;
            free(perma);
            return yes ? R_GUID : R_NONE;
        }
        return R_NONE;
    default:
        return R_NONE;
    }
}

static void on_start(void *ud, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
                     int nns, const xmlChar **nss, int nattr, int ndef, const xmlChar **a)
{
    struct demo_feed_parser *p = ((xmlParserCtxtPtr)ud)->_private;
    int d = p->depth++;
    if (d >= MAX_DEPTH || p->err)
        return; /* libxml2 refuses depth > 256 itself; deeper frames are not tracked */
    struct frame *f = &p->frames[d];
    const char *parent_base = d ? p->frames[d - 1].base : p->url;
    f->own = NULL;
    f->base = parent_base;
    char *xb = attr(a, nattr + ndef, NS_XML, "base");
    if (xb) {
        f->own = resolve(parent_base, xb, p->lim.max_link);
        if (f->own)
            f->base = f->own;
        else if (xb[strspn(xb, " \t\r\n")])
            f->base = NULL; /* unusable (too long, bad host): relative links under it have
                               no base, rather than the parent's, which is not theirs */
        free(xb);
    }
    const char *name = (const char *)local;
    enum ns ns = ns_of(uri);
    f->role = d == 0 ? root_role(p, name, ns)
                     : child_role(p, p->frames[d - 1].role, name, ns, a, nattr + ndef);
    if (p->cap_depth >= 0)
        return; /* inside a captured title (Atom xhtml): its text only */
    switch (f->role) {
    case R_ENTRY:
        cur_clear(&p->cur);
        p->cur.open = true;
        if (p->feed.kind == DEMO_FEED_RDF) {
            char *about = attr(a, nattr + ndef, NS_RDF, "about");
            if (about)
                p->cur.about = resolve(f->base, about, p->lim.max_link);
            free(about);
        }
        break;
    case R_FEED_TITLE:
    case R_ENTRY_TITLE: {
        char *type = p->feed.kind == DEMO_FEED_ATOM ? attr(a, nattr + ndef, NULL, "type") : NULL;
        capture(p, p->lim.max_title, type && !strcmp(type, "html"));
        free(type);
        break;
    }
    case R_LINK:
    case R_GUID:
        capture(p, p->lim.max_link, false);
        break;
    default:
        if (d > 0 && p->frames[d - 1].role == R_ENTRY && ns == NS_IS_ATOM && !strcmp(name, "link"))
            atom_link(p, a, nattr + ndef, f->base);
    }
}

/* The captured element ended: store its text where it belongs. */
static void capture_end(struct demo_feed_parser *p, const struct frame *f)
{
    struct cur *c = &p->cur;
    switch (f->role) {
    case R_FEED_TITLE:
        if (!p->feed.title)
            p->feed.title = take_title(p);
        break;
    case R_ENTRY_TITLE:
        if (!c->title)
            c->title = take_title(p);
        break;
    case R_LINK:
        if (!c->link)
            c->link = take_link(p, f->base, &c->bad_link);
        break;
    case R_GUID:
        if (!c->guid) {
            bool ignored = false;
            char *g = take_link(p, f->base, &ignored);
            /* a guid is only a link when it is absolute on its own (feedparser's rule) */
            const char *t = p->text ? p->text : "";
            while (is_ws((unsigned char)*t))
                t++;
            if (g && has_scheme(t))
                c->guid = g;
            else
                free(g);
        }
        break;
    default:
        break;
    }
    p->cap_depth = -1;
}

static void on_end(void *ud, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
    struct demo_feed_parser *p = ((xmlParserCtxtPtr)ud)->_private;
    int d = --p->depth;
    if (d >= MAX_DEPTH)
        return;
    struct frame *f = &p->frames[d];
    if (!p->err) {
        if (d == p->cap_depth)
            capture_end(p, f);
        else if (f->role == R_ENTRY && p->cap_depth < 0 && p->cur.open)
            entry_end(p);
    }
    free(f->own);
    f->own = NULL;
    if (d == 0 && !p->err && !p->feed.title && !(p->feed.title = strdup("")))
        set_error(p, -ENOMEM, NULL);
}

/* Entity declarations in the internal subset. Feeds hardly ever need any; the
 * harmless kind (&nbsp; spelt out) is kept: internal general entities of up to
 * MAX_ENTITY_LEN bytes that reference no other entity, so nothing can nest
 * (billion laughs) or be huge (quadratic blow-up). External and parameter
 * entities are refused outright: nothing is ever read from outside. */
static void on_entity_decl(void *ud, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    xmlParserCtxtPtr ctxt = ud;
    struct demo_feed_parser *p = ctxt->_private;
    const char *why = NULL;
    if (type != XML_INTERNAL_GENERAL_ENTITY)
        why = "external or parameter entity declared: refused";
    else if (!content || xmlStrlen(content) > MAX_ENTITY_LEN)
        why = "entity longer than 1,024 bytes declared: refused";
    else if (xmlStrchr(content, '&') || xmlStrchr(content, '<'))
        why = "entity referencing other entities or markup declared: refused";
    else if (++p->entities > MAX_ENTITIES)
        why = "more than 64 entities declared: refused";
    if (why)
        set_error(p, DEMO_FEED_EENTITY, why);
    else
        xmlSAX2EntityDecl(ud, name, type, public_id, system_id, content);
}

static void sax_init(xmlSAXHandler *sax)
{
    /* Start from libxml2's SAX2 defaults: they keep the internal subset's entity
     * declarations (in ctxt->myDoc), where libxml2's amplification checks live
     * too. Everything that would build a tree or load anything is cut off. */
    xmlSAXVersion(sax, 2);
    sax->startElementNs = on_start;
    sax->endElementNs = on_end;
    sax->startElement = NULL;
    sax->endElement = NULL;
    sax->characters = on_chars;
    sax->cdataBlock = on_chars;
    sax->ignorableWhitespace = on_chars;
    sax->entityDecl = on_entity_decl;
    sax->reference = NULL; /* xmlSAX2Reference would leak a node with no parent */
    sax->comment = NULL;
    sax->processingInstruction = NULL;
    sax->externalSubset = NULL;
    sax->resolveEntity = NULL;
    sax->serror = on_error;
    sax->error = NULL;
    sax->warning = NULL;
    sax->fatalError = NULL;
}

/* --- charset (RFC 7303 section 3: BOM, then charset parameter, then declaration) --- */

/* Nothing outside the document is ever read: DTDs, external entities, XIncludes. */
static xmlParserInputPtr no_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    return NULL;
}

/* The encoding named in an XML declaration at the start of s (ASCII-compatible
 * text), copied into buf; NULL if there is none. */
static const char *decl_encoding(const unsigned char *s, size_t n, char *buf, size_t cap)
{
    if (n < 6 || memcmp(s, "<?xml", 5) != 0 || !is_ws(s[5]))
        return NULL;
    const unsigned char *end = memchr(s, '>', n);
    if (!end)
        return NULL;
    for (const unsigned char *q = s + 5; q + 8 < end; q++) {
        if (memcmp(q, "encoding", 8) != 0)
            continue;
        q += 8;
        while (q < end && is_ws(*q))
            q++;
        if (q == end || *q++ != '=')
            return NULL;
        while (q < end && is_ws(*q))
            q++;
        if (q == end || (*q != '"' && *q != '\''))
            return NULL;
        const unsigned char *v = q + 1, *close = memchr(v, *q, (size_t)(end - v));
        if (!close || (size_t)(close - v) >= cap)
            return NULL;
        memcpy(buf, v, (size_t)(close - v));
        buf[close - v] = '\0';
        return buf;
    }
    return NULL;
}

/* Whether the held bytes are enough to decide the charset. */
static bool can_decide(const struct demo_feed_parser *p, bool last)
{
    const unsigned char *h = p->head;
    if (last || p->nhead == sizeof p->head)
        return true;
    if (p->nhead < 4)
        return false;
    if (p->charset || h[0] != '<' || h[1] != '?')
        return true; /* a BOM, UTF-16 without one, a Content-Type charset, or no declaration */
    return memchr(h, '>', p->nhead) != NULL;
}

/* Pick the charset and the bytes to skip (a BOM). Returns the name or NULL for UTF-8. */
static const char *pick_charset(struct demo_feed_parser *p, size_t *skip, char *buf, size_t cap)
{
    const unsigned char *h = p->head;
    size_t n = p->nhead;
    *skip = 0;
    if (n >= 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF)
        return *skip = 3, "UTF-8";
    if (n >= 2 && h[0] == 0xFF && h[1] == 0xFE)
        return *skip = 2, "UTF-16LE";
    if (n >= 2 && h[0] == 0xFE && h[1] == 0xFF)
        return *skip = 2, "UTF-16BE";
    if (p->charset)
        return p->charset;
    if (n >= 4 && !memcmp(h, "<\0?\0", 4))
        return "UTF-16LE";
    if (n >= 4 && !memcmp(h, "\0<\0?", 4))
        return "UTF-16BE";
    return decl_encoding(h, n, buf, cap);
}

/* Create the libxml2 context for the charset picked; feed the held bytes. */
static int start(struct demo_feed_parser *p)
{
    char declared[64];
    size_t skip;
    const char *cs = pick_charset(p, &skip, declared, sizeof declared);
    xmlCharEncodingHandlerPtr h = cs ? xmlFindCharEncodingHandler(cs) : NULL;
    if (cs && !h && cs == p->charset) { /* unknown Content-Type charset: next in order */
        free(p->charset);
        p->charset = NULL;
        cs = pick_charset(p, &skip, declared, sizeof declared);
        h = cs ? xmlFindCharEncodingHandler(cs) : NULL;
    }
    if (!h) /* none named, or a name nobody knows: UTF-8 */
        h = xmlFindCharEncodingHandler("UTF-8");
    snprintf(p->feed.encoding, sizeof p->feed.encoding, "%s", h ? h->name : "UTF-8");
    xmlSAXHandler sax;
    sax_init(&sax);
    /* user data NULL: callbacks get the context (libxml2's SAX2 defaults need it) */
    p->ctxt = xmlCreatePushParserCtxt(&sax, NULL, NULL, 0, p->url);
    if (!p->ctxt) {
        xmlCharEncCloseFunc(h);
        return -ENOMEM;
    }
    p->ctxt->_private = p;
    xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC | XML_PARSE_NOERROR |
                                   XML_PARSE_NOWARNING);
    if (h && xmlSwitchToEncoding(p->ctxt, h) < 0)
        return -ENOMEM;
    if (p->nhead > skip)
        xmlParseChunk(p->ctxt, (const char *)p->head + skip, (int)(p->nhead - skip), 0);
    return 0;
}

/* --- public --- */

int demo_feed_parser_new(struct demo_feed_parser **out, const char *base_url, const char *charset,
                         const struct demo_feed_limits *limits)
{
    *out = NULL;
    if (!base_url)
        return -EINVAL;
    struct demo_feed_parser *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->lim = limits ? *limits : default_limits;
    if (!p->lim.max_entries)
        p->lim.max_entries = default_limits.max_entries;
    if (!p->lim.max_title)
        p->lim.max_title = default_limits.max_title;
    if (!p->lim.max_link)
        p->lim.max_link = default_limits.max_link;
    if (!p->lim.max_bytes)
        p->lim.max_bytes = default_limits.max_bytes;
    p->cap_depth = -1;
    struct loom_url u;
    if (loom_url_parse(&u, base_url, (size_t)-1) < 0) {
        free(p);
        return -EINVAL; /* every link resolves against it: it must be absolute */
    }
    loom_url_close(&u);
    p->url = strdup(base_url);
    p->charset = xstrdup(charset && *charset ? charset : NULL);
    if (!p->url || (charset && *charset && !p->charset)) {
        demo_feed_parser_free(p);
        return -ENOMEM;
    }
    xmlInitParser();
    xmlSetExternalEntityLoader(no_loader);
    *out = p;
    return 0;
}

int demo_feed_parser_push(struct demo_feed_parser *p, const void *buf, size_t len)
{
    if (p->err)
        return p->err;
    if (len > p->lim.max_bytes - p->total) {
        set_error(p, DEMO_FEED_ETOOBIG, NULL);
        return p->err;
    }
    p->total += len;
    const char *b = buf;
    while (!p->ctxt && len > 0) { /* hold the first bytes until the charset is known */
        size_t n = sizeof p->head - p->nhead;
        n = n < len ? n : len;
        memcpy(p->head + p->nhead, b, n);
        p->nhead += n, b += n, len -= n;
        if (can_decide(p, false)) {
            int rc = start(p);
            if (rc < 0)
                set_error(p, rc, NULL);
        }
    }
    while (!p->err && len > 0) { /* xmlParseChunk takes an int */
        int n = len > (1u << 20) ? 1 << 20 : (int)len;
        xmlParseChunk(p->ctxt, b, n, 0);
        b += n, len -= (size_t)n;
    }
    return p->err;
}

int demo_feed_parser_finish(struct demo_feed_parser *p, struct demo_feed *feed)
{
    if (!p->err && !p->ctxt) {
        int rc = start(p);
        if (rc < 0)
            set_error(p, rc, NULL);
    }
    if (!p->err && p->ctxt) {
        xmlParseChunk(p->ctxt, NULL, 0, 1);
        if (!p->err && (p->feed.kind == DEMO_FEED_UNKNOWN || p->depth != 0))
            set_error(p, p->nhead || p->total ? DEMO_FEED_EEMPTY : DEMO_FEED_EXML,
                      "input ended early");
    }
    if (!p->feed.title)
        p->feed.title = strdup("");
    if (p->cur.open)
        cur_clear(&p->cur);
    *feed = p->feed;
    memset(&p->feed, 0, sizeof p->feed);
    if (!feed->title) {
        demo_feed_free(feed);
        return -ENOMEM;
    }
    return p->err;
}

const char *demo_feed_parser_errmsg(const struct demo_feed_parser *p) { return p->errmsg; }

void demo_feed_parser_free(struct demo_feed_parser *p)
{
    if (!p)
        return;
    if (p->ctxt) {
        if (p->ctxt->myDoc)
            xmlFreeDoc(p->ctxt->myDoc);
        xmlFreeParserCtxt(p->ctxt);
    }
    for (int i = 0; i < MAX_DEPTH; i++)
        free(p->frames[i].own);
    cur_clear(&p->cur);
    demo_feed_free(&p->feed);
    free(p->text);
    free(p->url);
    free(p->charset);
    free(p);
}

int demo_feed_parse(const void *buf, size_t len, const char *base_url, const char *charset,
                    const struct demo_feed_limits *limits, struct demo_feed *feed)
{
    struct demo_feed_parser *p;
    memset(feed, 0, sizeof *feed);
    int rc = demo_feed_parser_new(&p, base_url, charset, limits);
    if (rc < 0)
        return rc;
    demo_feed_parser_push(p, buf, len);
    rc = demo_feed_parser_finish(p, feed);
    demo_feed_parser_free(p);
    return rc;
}

void demo_feed_free(struct demo_feed *feed)
{
    for (size_t i = 0; i < feed->n_entries; i++)
        free(feed->entries[i].link), free(feed->entries[i].title);
    free(feed->entries);
    free(feed->title);
    memset(feed, 0, sizeof *feed);
}

char *demo_feed_content_charset(const char *ct, char *buf, size_t cap)
{
    for (const char *s = ct ? strchr(ct, ';') : NULL; s; s = strchr(s + 1, ';')) {
        const char *k = s + 1;
        while (*k == ' ' || *k == '\t')
            k++;
        if (strncasecmp(k, "charset", 7) != 0)
            continue;
        k += 7;
        while (*k == ' ' || *k == '\t')
            k++;
        if (*k++ != '=')
            continue;
        while (*k == ' ' || *k == '\t')
            k++;
        bool quoted = *k == '"';
        k += quoted;
        size_t n = 0;
        while (k[n] && (quoted ? k[n] != '"' : k[n] != ';' && k[n] != ' ' && k[n] != '\t'))
            n++;
        if (n == 0 || n >= cap)
            return NULL;
        for (size_t i = 0; i < n; i++) /* RFC 2978 mime-charset characters */
            if (!(((k[i] | 0x20) >= 'a' && (k[i] | 0x20) <= 'z') || (k[i] >= '0' && k[i] <= '9') ||
                  strchr("!#$%&'+-^_`{}~.:", k[i])))
                return NULL;
        memcpy(buf, k, n);
        buf[n] = '\0';
        return buf;
    }
    return NULL;
}

void demo_feed_print_safe(FILE *f, const char *s)
{
    char out[1024];
    size_t len = strlen(s);
    while (len > 0) { /* in slices whose worst-case output fits the buffer */
        size_t n = len < 300 ? len : 300;
        while (n < len && n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--; /* do not split a character between slices */
        if (n == 0)
            n = len < 300 ? len : 300;
        loom_utf8_sanitize(out, sizeof out, s, n, 0);
        fputs(out, f);
        s += n, len -= n;
    }
}

const char *demo_feed_parse_name(int rc)
{
    switch (rc) {
    case 0:
        return "ok";
    case DEMO_FEED_EXML:
        return "xml-error";
    case DEMO_FEED_ENOTFEED:
        return "not-a-feed";
    case DEMO_FEED_EENTITY:
        return "entity-refused";
    case DEMO_FEED_ETOOBIG:
        return "too-big";
    case DEMO_FEED_EEMPTY:
        return "incomplete";
    default:
        return loom_errname(rc);
    }
}

/* --- feed lists --- */

enum { LIST_LINE_MAX = 4096 };

void demo_feed_list_free(char **urls, size_t n)
{
    for (size_t i = 0; urls && i < n; i++)
        free(urls[i]);
    free(urls);
}

/* Add the URL on one line (trimmed; comments and blanks skipped). */
static int list_add(char *l, char ***urls, size_t *n, size_t *cap, size_t max)
{
    while (is_ws((unsigned char)*l))
        l++;
    size_t len = strlen(l);
    while (len && is_ws((unsigned char)l[len - 1]))
        l[--len] = '\0';
    if (len == 0 || l[0] == '#')
        return 0;
    for (const unsigned char *c = (const unsigned char *)l; *c; c++)
        if (*c < 0x20 || *c >= 0x7F)
            return -EINVAL;
    if (*n == max)
        return LOOM_ELIMIT;
    if (*n == *cap) {
        size_t c2 = *cap ? 2 * *cap : 64;
        char **u = realloc(*urls, c2 * sizeof *u);
        if (!u)
            return -ENOMEM;
        *urls = u, *cap = c2;
    }
    if (!((*urls)[*n] = strdup(l)))
        return -ENOMEM;
    (*n)++;
    return 0;
}

int demo_feed_list_load(const char *path, size_t max_urls, char ***urls, size_t *line)
{
    *urls = NULL;
    *line = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    char buf[LIST_LINE_MAX + 2];
    size_t n = 0, cap = 0;
    int rc = 0;
    while (rc == 0 && fgets(buf, sizeof buf, f)) {
        ++*line;
        size_t len = strlen(buf);
        if (len == sizeof buf - 1 && buf[len - 1] != '\n')
            rc = LOOM_ELIMIT; /* longer than LIST_LINE_MAX */
        else
            rc = list_add(buf, urls, &n, &cap, max_urls);
    }
    if (rc == 0 && ferror(f))
        rc = -EIO;
    fclose(f);
    if (rc < 0) {
        demo_feed_list_free(*urls, n);
        *urls = NULL;
        return rc;
    }
    *line = 0;
    return (int)n;
}
