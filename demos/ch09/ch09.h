/* ch09.h - what the chapter-9 web listings share: the server's address
 * options, the "listening on" line tests wait for, and the products database
 * pool the book opens at startup and closes at cleanup (listing 9.2). */
#ifndef LOOM_DEMOS_CH09_H
#define LOOM_DEMOS_CH09_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ch05/ch05.h"
#include "db/pg.h"
#include "demo.h"
#include "net/http_server.h"
#include "net/utf8.h"
#include "rows_json.h"

/* The book's aiohttp apps listen on 8080, Starlette/uvicorn ones on 8000. */
#define CH09_HOST_OPTS "[--host ADDR] [--port N]"

static inline void ch09_on_listening(struct loom_server *srv, void *arg)
{
    char name[128];
    (void)arg;
    if (loom_server_name(srv, name, sizeof name) == 0)
        printf("listening on %s\n", name);
    fflush(stdout);
}

/* --name N as a whole decimal number in [min, max], else def if absent; a
 * bad one ("8080x", "70000") exits 2 with a message (demo_arg_long would take
 * "8080x" as 8080 and 70000 on to a late "Invalid argument"). */
static inline long ch09_arg_long(const char *name, long def, long min, long max)
{
    return demo_arg_range(name, def, min, max);
}

/* Server options from --host/--port: SIGINT/SIGTERM end it gracefully. */
static inline struct loom_http_server_options ch09_server_options(int default_port)
{
    struct loom_http_server_options o = {
        .net = {.host = demo_arg_str("--host", "127.0.0.1"),
                .port = (int)ch09_arg_long("--port", default_port, 0, 65535),
                .grace_ns = LOOM_SEC(2),
                .handle_signals = true,
                .on_listening = ch09_on_listening},
        /* Connection tasks use the loop's cached default stack size: 256 KiB
         * (committed as touched), as jansson parses a request body by
         * recursion, up to 2,048 deep - 64 KiB overflowed on a body of
         * 2,047 nested lists and the server died. */
        .loop = {.stack_size = 256 * 1024},
    };
    return o;
}

/* The pool of the running worker: each worker thread (--workers, listing 9.8)
 * opens its own on its own loop, as each uvicorn worker process does. */
static _Thread_local struct loom_pg_pool ch09_pool;

/* create_database_pool(): on_start hook. asyncpg.create_pool(min_size=6, max_size=6). */
static inline int ch09_create_database_pool(struct loom_http_server *srv, void *arg)
{
    (void)srv, (void)arg;
    printf("Creating database pool.\n");
    fflush(stdout);
    struct loom_pg_pool_options o = {.conninfo = ch05_dsn(), .min_size = 6, .max_size = 6};
    int rc = loom_pg_pool_open(&ch09_pool, &o);
    if (rc < 0)
        fprintf(stderr, "cannot open the database pool: %s\n",
                ch05_why(rc, loom_pg_pool_errmsg(&ch09_pool)));
    return rc;
}

/* destroy_database_pool(): on_stop hook. */
static inline void ch09_destroy_database_pool(struct loom_http_server *srv, void *arg)
{
    (void)srv, (void)arg;
    printf("Destroying database pool.\n");
    fflush(stdout);
    loom_pg_pool_close(&ch09_pool, LOOM_SEC(5));
}

/* Answer rows of r as JSON (200, application/json): all of them as a list
 * of objects ([dict(record) for record in results]), or with one set, row 0
 * as one object (dict(result)). */
static inline int ch09_reply_rows(struct loom_http_reply *rep, const struct loom_pg_result *r,
                                  bool one)
{
    struct rows_json j = {0};
    int n = one ? 1 : loom_pg_nrows(r);
    if (!one)
        rows_json_put(&j, "[", 1);
    for (int i = 0; i < n; i++) {
        rows_json_put(&j, i ? ",{" : "{", i ? 2 : 1);
        for (int c = 0; c < loom_pg_ncols(r); c++)
            rows_json_member(&j, c == 0, loom_pg_colname(r, c), loom_pg_text(r, i, c),
                             loom_pg_isnull(r, i, c));
        rows_json_put(&j, "}", 1);
    }
    if (!one)
        rows_json_put(&j, "]", 1);
    if (j.failed)
        return -ENOMEM;
    int rc = loom_http_reply_send(rep, 200, "application/json", j.data, j.len);
    free(j.data);
    return rc;
}

/* Answer a query error as 500 with the server's message logged. */
static inline int ch09_db_error(struct loom_http_reply *rep, int rc,
                                const struct loom_pg_error *err)
{
    fprintf(stderr, "database error: %s\n", ch05_why(rc, err->msg));
    return loom_http_reply_error(rep, 500);
}

/* Write s as the inside of Python's repr() of a str (bytes: of a bytes
 * object), so a peer's text cannot drive the terminal: \ and ' escaped,
 * \t \n \r, other C0 controls and DEL as \xNN; for a str, UTF-8 is kept but
 * C1 controls (U+0080..U+009F, the 8-bit CSI among them) become \xNN, the
 * bidi controls that reorder a line \uNNNN, and bytes that are not UTF-8
 * \xNN; for bytes, every byte >= 0x80 is \xNN. */
static inline void ch09_print_escaped(FILE *f, const char *s, bool bytes)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned char c = *p;
        if (c == '\\' || c == '\'') {
            fprintf(f, "\\%c", c), p++;
        } else if (c == '\t' || c == '\n' || c == '\r') {
            fprintf(f, "\\%c", c == '\t' ? 't' : c == '\n' ? 'n' : 'r'), p++;
        } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && bytes)) {
            fprintf(f, "\\x%02x", c), p++;
        } else if (c < 0x80) {
            fputc(c, f), p++;
        } else {
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (strnlen((const char *)p, n) < n || !loom_utf8_valid(p, n)) {
                fprintf(f, "\\x%02x", c), p++; /* not UTF-8 */
                continue;
            }
            unsigned cp = c & (0x7F >> n);
            for (size_t i = 1; i < n; i++)
                cp = cp << 6 | (p[i] & 0x3F);
            if (cp <= 0x9F)
                fprintf(f, "\\x%02x", cp);
            else if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069))
                fprintf(f, "\\u%04x", cp);
            else
                fwrite(p, 1, n, f);
            p += n;
        }
    }
}

#endif
