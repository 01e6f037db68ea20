/* rows_json.h - query rows as JSON text, written straight from the result.
 *
 * json.dumps([dict(r) for r in rows]) without building a tree first: building
 * jansson objects (a hash table per row, a node per value) and dumping them
 * cost more CPU than everything else a /brands request does, so the listings
 * that answer rows write them here into one growing buffer. Columns named
 * *_id are integers (as in the chapter-5 schema), the others text, NULL null.
 * Text is escaped as JSON requires (", \ and control characters); the
 * server's UTF-8 passes through. */
#ifndef LOOM_DEMOS_CH09_ROWS_JSON_H
#define LOOM_DEMOS_CH09_ROWS_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing buffer; zero-initialise. failed is set (and data freed) on ENOMEM. */
struct rows_json {
    char *data;
    size_t len, cap;
    bool failed;
};

static inline void rows_json_put(struct rows_json *j, const char *s, size_t n)
{
    if (j->failed)
        return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 4096;
        while (cap < j->len + n + 1)
            cap *= 2;
        char *d = realloc(j->data, cap);
        if (!d) {
            free(j->data);
            *j = (struct rows_json){.failed = true};
            return;
        }
        j->data = d, j->cap = cap;
    }
    memcpy(j->data + j->len, s, n);
    j->len += n;
    j->data[j->len] = '\0';
}

/* A JSON string: runs of plain bytes are copied at once. */
static inline void rows_json_str(struct rows_json *j, const char *s)
{
    rows_json_put(j, "\"", 1);
    for (;;) {
        size_t n = 0;
        while ((unsigned char)s[n] >= 0x20 && s[n] != '"' && s[n] != '\\')
            n++;
        rows_json_put(j, s, n);
        s += n;
        if (!*s)
            break;
        char esc[8];
        unsigned char c = (unsigned char)*s++;
        if (c == '"' || c == '\\')
            rows_json_put(j, (char[]){'\\', (char)c}, 2);
        else if (c == '\n')
            rows_json_put(j, "\\n", 2);
        else if (c == '\t')
            rows_json_put(j, "\\t", 2);
        else
            rows_json_put(j, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
    }
    rows_json_put(j, "\"", 1);
}

/* One column's value: null, an integer (*_id columns holding one) or a string. */
static inline void rows_json_value(struct rows_json *j, const char *name, const char *v,
                                   bool isnull)
{
    size_t len = strlen(name);
    if (isnull)
        rows_json_put(j, "null", 4);
    else if (len > 3 && !strcmp(name + len - 3, "_id") && *v && !v[strspn(v, "-0123456789")])
        rows_json_put(j, v, strlen(v));
    else
        rows_json_str(j, v);
}

/* "name": value, as a member of an object (first: no comma before it). */
static inline void rows_json_member(struct rows_json *j, bool first, const char *name,
                                    const char *v, bool isnull)
{
    if (!first)
        rows_json_put(j, ",", 1);
    rows_json_str(j, name);
    rows_json_put(j, ":", 1);
    rows_json_value(j, name, v, isnull);
}

#endif
