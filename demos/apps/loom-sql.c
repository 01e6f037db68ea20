/* loom-sql - a SQL client for scripts and terminals (listing 8.11 grown up).
 *
 * One session on one connection, as psql: input is split into statements at
 * each ';' outside quotes, dollar quotes, comments and parentheses, and they
 * run one after the other in input order, so transactions mean what they say.
 * Each statement goes as a simple query and every result it yields is shown;
 * rows are streamed (single-row mode) and laid out BATCH rows at a time, so
 * memory stays flat however large the result. Server text is made safe for a
 * terminal (control characters become visible pictures) and columns are
 * aligned by display width. On a terminal the input is edited at a prompt;
 * Ctrl-C cancels the running statement (the server is told to stop it). */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "common/opts.h"
#include "db/pg.h"
#include "net/stream.h"
#include "net/term.h"
#include "net/utf8.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: loom-sql [OPTIONS]\n"
    "A SQL client: reads statements (ending at ';' outside quotes and comments, may span\n"
    "lines) from standard input, a terminal prompt or --file, and runs them in order on\n"
    "one connection, as psql does: transactions work, every result is shown.\n"
    "  -d, --dsn CONNINFO    libpq conninfo or URI (default $LOOM_PG_DSN, else host=127.0.0.1\n"
    "                        port=5432 user=postgres password=postgres dbname=products)\n"
    "  -c, --command SQL     run SQL (one simple query: every result shown) and exit\n"
    "  -f, --file PATH       read statements from PATH instead of standard input ('-': it)\n"
    "  -o, --output PATH     write results to PATH (errors still go to standard error)\n"
    "  -v, --set NAME=VALUE  set a variable; only ON_ERROR_STOP=1|0 (on|off) is known\n"
    "  -Q, --on-error-stop   stop at the first failed statement (as -v ON_ERROR_STOP=1)\n"
    "  -A, --no-align        unaligned output: fields joined by '|', streamed row by row\n"
    "  -t, --tuples-only     rows only: no header, no \"(N rows)\" footer\n"
    "      --null TEXT       how NULL is shown (default \"(null)\"; --null '' shows it as psql)\n"
    "      --batch N         aligned output is laid out N rows at a time (default 1000,\n"
    "                        1..1000000): a result larger than N streams in blocks that\n"
    "                        share one header, and a later block may widen a column\n"
    "      --timing          print each statement's time (as \\timing on)\n"
    "COPY ... FROM STDIN reads the lines after the statement up to a line '\\.' (with -c:\n"
    "standard input); COPY ... TO STDOUT writes to the output.\n"
    "Meta-commands (a line starting with '\\'): \\timing [on|off], \\o [PATH] (results to\n"
    "PATH, or back to standard output), \\set ON_ERROR_STOP on|off, \\g (run the text so\n"
    "far), \\q (quit), \\? (this list).\n"
    "Values are shown as the server's text: arrays {1,2}, numeric exactly, bytea as \\x..,\n"
    "timestamps with their zone; NULL as (null), the empty string as nothing. Control\n"
    "characters (newline, tab, ESC...) are shown as U+2400 pictures.\n"
    "Ctrl-C cancels the running statement; Ctrl-D (or end of input) quits. At end of\n"
    "input an unterminated last statement is run.\n"
    "Exit status: 0 all statements succeeded; 1 a statement failed (input was read to the\n"
    "end) or loom-sql itself failed (a file it cannot open, a statement over 1 GiB);\n"
    "2 the connection failed or was lost; 3 stopped at a failed statement by\n"
    "ON_ERROR_STOP. At a terminal prompt, failed statements do not change the status.\n";

enum {
    MAX_STATEMENT = 1 << 30, /* bytes; PostgreSQL refuses larger messages anyway */
    EXIT_FAILED = 1,
    EXIT_CONN = 2,
    EXIT_STOPPED = 3,
};

/* A growable byte buffer (NUL-terminated when len > 0). */
struct buf {
    char *p;
    size_t len, cap;
};

/* Make room for n more bytes (and a NUL); false past MAX_STATEMENT or out of memory. */
static bool buf_reserve(struct buf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return true;
    if (b->len + n + 1 > (size_t)MAX_STATEMENT + 4096)
        return false;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return false;
    b->p = p;
    b->cap = cap;
    return true;
}

static bool buf_add(struct buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n))
        return false;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return true;
}

/* --- splitting input into statements, as psql's lexer does --- */

enum lex_state { L_NORMAL, L_SQUOTE, L_ESTRING, L_DQUOTE, L_DOLLAR, L_LINE_COMMENT, L_COMMENT };

struct lexer {
    enum lex_state st;
    int depth;         /* parentheses */
    int comment_depth; /* nested block comments */
    char tag[64];      /* the $tag$ of a dollar quote */
    size_t tag_len;
    bool content; /* the statement has something besides blanks and comments */
    int words;    /* words seen in the statement */
    char head[4]; /* the first letters of its first words, if they may start a routine */
    int begin;    /* BEGIN (ATOMIC) ... END nesting in a routine body */
};

static bool word_is(const char *w, size_t len, const char *kw)
{
    return len == strlen(kw) && strncasecmp(w, kw, len) == 0;
}

/* A word of the statement. Like psql, semicolons inside the body of
 * CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN ATOMIC ... END do not end
 * it: BEGIN (and CASE inside one) nest, END closes. */
static void lex_word(struct lexer *x, const char *w, size_t len)
{
    static const char *const starts[] = {"create", "or", "replace", "function", "procedure"};
    if (x->words < 4) {
        x->head[x->words] = '?';
        for (size_t k = 0; k < 5; k++)
            if (word_is(w, len, starts[k]))
                x->head[x->words] = starts[k][0];
    }
    x->words++;
    const char *h = x->head;
    bool routine = x->words > 1 && h[0] == 'c' &&
                   (h[1] == 'f' || h[1] == 'p' ||
                    (x->words > 3 && h[1] == 'o' && h[2] == 'r' && (h[3] == 'f' || h[3] == 'p')));
    if (!routine || x->depth > 0)
        return;
    if (word_is(w, len, "begin") || (x->begin > 0 && word_is(w, len, "case")))
        x->begin++;
    else if (x->begin > 0 && word_is(w, len, "end"))
        x->begin--;
}

/* A letter, digit, '_' or a byte of a non-ASCII character: part of a word. */
static bool is_word(char c)
{
    unsigned char u = (unsigned char)c;
    return u == '_' || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
           u >= 0x80;
}

/* A dollar-quote opener "$tag$" at s (n bytes left): its length, else 0. */
static size_t dollar_tag(const char *s, size_t n)
{
    size_t i = 1;
    if (n > 1 && s[1] >= '0' && s[1] <= '9')
        return 0; /* $1 is a parameter */
    while (i < n && i < 63 && is_word(s[i]))
        i++;
    return i < n && s[i] == '$' ? i + 1 : 0;
}

/* Scan s[0..n) in the normal state from *i; true at a statement-ending ';'. */
static bool lex_normal(struct lexer *x, const char *s, size_t n, size_t *i, char prev)
{
    char ch = s[*i], next = *i + 1 < n ? s[*i + 1] : 0;
    if (ch == '-' && next == '-') {
        x->st = L_LINE_COMMENT;
    } else if (ch == '/' && next == '*') {
        x->st = L_COMMENT;
        x->comment_depth = 1;
        (*i)++;
    } else if (ch == '\'') {
        /* E'...' takes backslash escapes; the E must be a word of its own (not LIKE'x') */
        bool e = (prev == 'E' || prev == 'e') && !(*i >= 2 && is_word(s[*i - 2]));
        x->st = e ? L_ESTRING : L_SQUOTE;
    } else if (ch == '"') {
        x->st = L_DQUOTE;
    } else if (ch == '$' && !is_word(prev)) {
        size_t t = dollar_tag(s + *i, n - *i);
        if (t) {
            memcpy(x->tag, s + *i, t);
            x->tag_len = t;
            x->st = L_DOLLAR;
            *i += t - 1;
        }
    } else if (ch == '(') {
        x->depth++;
    } else if (ch == ')') {
        x->depth -= x->depth > 0;
    } else if (is_word(ch) && !is_word(prev) && !(ch >= '0' && ch <= '9')) {
        size_t len = 1;
        while (*i + len < n && is_word(s[*i + len]))
            len++;
        lex_word(x, s + *i, len);
        *i += len - 1;
    } else if (ch == ';' && x->depth == 0 && x->begin == 0) {
        return true;
    }
    if (x->st != L_LINE_COMMENT && x->st != L_COMMENT && ch != ';' && ch != ' ' && ch != '\t' &&
        ch != '\n' && ch != '\r')
        x->content = true;
    return false;
}

/* Advance over s[*i] (and what it opens); true at a statement-ending ';'. */
static bool lex_step(struct lexer *x, const char *s, size_t n, size_t *i)
{
    char ch = s[*i], next = *i + 1 < n ? s[*i + 1] : 0, prev = *i ? s[*i - 1] : ' ';
    switch (x->st) {
    case L_NORMAL:
        return lex_normal(x, s, n, i, prev);
    case L_SQUOTE:
    case L_DQUOTE:
        if (ch == (x->st == L_SQUOTE ? '\'' : '"')) {
            if (next == ch)
                (*i)++; /* doubled quote */
            else
                x->st = L_NORMAL;
        }
        return false;
    case L_ESTRING:
        if (ch == '\\')
            (*i)++;
        else if (ch == '\'' && next == '\'')
            (*i)++;
        else if (ch == '\'')
            x->st = L_NORMAL;
        return false;
    case L_DOLLAR:
        if (ch == '$' && n - *i >= x->tag_len && !memcmp(s + *i, x->tag, x->tag_len)) {
            *i += x->tag_len - 1;
            x->st = L_NORMAL;
        }
        return false;
    case L_LINE_COMMENT:
        if (ch == '\n')
            x->st = L_NORMAL;
        return false;
    case L_COMMENT:
        if (ch == '*' && next == '/' && --x->comment_depth == 0)
            x->st = L_NORMAL;
        else if (ch == '/' && next == '*')
            x->comment_depth++;
        if ((ch == '*' && next == '/') || (ch == '/' && next == '*'))
            (*i)++;
        return false;
    }
    return false;
}

/* --- the session --- */

static struct {
    struct loom_pg c;
    struct loom_task *main;
    struct lexer lex;
    struct buf stmt; /* the statement being collected */
    FILE *out;
    struct loom_stream *in; /* the input (NULL with -c until a COPY FROM STDIN needs it) */
    const char *prompt;     /* a prompt other than sql=> / sql-> (NULL: none) */
    const char *source;     /* "<stdin>" or the --file path, for error lines */
    long line_no;
    bool tty, on_error_stop, timing, unaligned, tuples_only;
    const char *null_text;
    int batch;
    bool failed; /* a statement failed */
    int exit;    /* set when loom-sql must stop: its exit status */
} app;

/* Display columns of valid UTF-8 s[0..n) (wcwidth; 1 per character if unknown). */
static int text_width(const char *s, size_t n)
{
    int w = 0;
    mbstate_t ms = {0};
    for (size_t i = 0; i < n;) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, s + i, n - i, &ms);
        if (k == 0 || k > n - i) {
            k = 1;
            memset(&ms, 0, sizeof ms);
            wc = L'?';
        }
        int cw = wcwidth(wc);
        w += cw < 0 ? 1 : cw;
        i += k;
    }
    return w;
}

/* Write s[0..n) to f with control characters made visible. */
static void put_safe(FILE *f, const char *s, size_t n)
{
    char tmp[LOOM_UTF8_SANITIZE_MAX(256)];
    for (size_t i = 0; i < n;) {
        size_t k = n - i < 256 ? n - i : 256, j = k;
        /* a character cut at the chunk edge would become U+FFFD: cut before it */
        while (k < n - i && j > k - 3 && ((unsigned char)s[i + j] & 0xC0) == 0x80)
            j--;
        if (k < n - i && ((unsigned char)s[i + j] & 0xC0) != 0x80)
            k = j;
        fwrite(tmp, 1, loom_utf8_sanitize(tmp, sizeof tmp, s + i, k, 0), f);
        i += k;
    }
}

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An error line on stderr, after flushing results so the order is kept. */
static void report(const char *fmt, ...)
{
    fflush(app.out);
    if (!app.tty)
        fprintf(stderr, "loom-sql:%s:%ld: ", app.source, app.line_no);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

static void on_notice(void *arg, const struct loom_pg_notice *n)
{
    fflush(app.out);
    fprintf(stderr, "%s:  ", n->severity);
    put_safe(stderr, n->message, strlen(n->message));
    fputc('\n', stderr);
}

/* --- showing rows: aligned in blocks of app.batch rows, or unaligned row by row --- */

struct table {
    int ncols;
    int *w;          /* column widths so far (they only grow) */
    bool *right;     /* numbers are right-aligned, as psql does */
    struct buf text; /* sanitized header names, then the block's cells, NUL-separated */
    size_t *off;     /* per cell (header first): offset in text */
    int *cw;         /* per cell: display width */
    int n;           /* rows in the block */
    long rows;       /* rows shown so far */
    bool header_done;
};

static bool is_number(uint32_t oid)
{
    return oid == LOOM_PG_INT2 || oid == LOOM_PG_INT4 || oid == LOOM_PG_INT8 ||
           oid == LOOM_PG_FLOAT4 || oid == LOOM_PG_FLOAT8 || oid == LOOM_PG_NUMERIC ||
           oid == 26 /* oid */ || oid == 790 /* money */;
}

/* Keep a sanitized copy of s[0..n) as cell k. */
static bool table_cell(struct table *t, size_t k, const char *s, size_t n)
{
    if (!buf_reserve(&t->text, LOOM_UTF8_SANITIZE_MAX(n)))
        return false;
    t->off[k] = t->text.len;
    char *dst = t->text.p + t->text.len;
    size_t m = loom_utf8_sanitize(dst, LOOM_UTF8_SANITIZE_MAX(n), s, n, 0);
    t->cw[k] = text_width(dst, m);
    t->text.len += m + 1;
    return true;
}

static void table_free(struct table *t)
{
    free(t->w), free(t->right), free(t->off), free(t->cw), free(t->text.p);
    memset(t, 0, sizeof *t);
}

/* Take the columns of r. false: out of memory. */
static bool table_start(struct table *t, const struct loom_pg_result *r)
{
    memset(t, 0, sizeof *t);
    t->ncols = loom_pg_ncols(r);
    size_t cells = (size_t)t->ncols * ((size_t)app.batch + 1) + 1;
    t->w = calloc((size_t)t->ncols + 1, sizeof *t->w);
    t->right = calloc((size_t)t->ncols + 1, sizeof *t->right);
    t->off = calloc(cells, sizeof *t->off);
    t->cw = calloc(cells, sizeof *t->cw);
    if (!t->w || !t->right || !t->off || !t->cw)
        return false;
    for (int j = 0; j < t->ncols; j++) {
        const char *name = loom_pg_colname(r, j);
        if (!table_cell(t, (size_t)j, name, strlen(name)))
            return false;
        t->right[j] = is_number(loom_pg_coltype(r, j));
        t->w[j] = t->cw[j];
    }
    return true;
}

/* Print cell k in width w (alignment by display width); the last column is not padded. */
static void put_cell(const struct table *t, size_t k, int w, int align, bool last)
{
    int pad = w - t->cw[k], before = align > 0 ? pad : align == 0 ? pad / 2 : 0;
    fprintf(app.out, "%*s%s", before, "", t->text.p + t->off[k]);
    if (!last || align == 0)
        fprintf(app.out, "%*s", pad - before, "");
}

/* One line of cells starting at cell k: header (align 0) or a row. */
static void put_line(const struct table *t, size_t k, bool header)
{
    for (int j = 0; j < t->ncols; j++) {
        fputs(j ? " | " : " ", app.out);
        put_cell(t, k + (size_t)j, t->w[j], header ? 0 : t->right[j] ? 1 : -1, j == t->ncols - 1);
    }
    if (header && t->ncols)
        fputc(' ', app.out);
    fputc('\n', app.out);
}

static void table_header(struct table *t)
{
    t->header_done = true;
    if (app.tuples_only)
        return;
    if (app.unaligned) {
        for (int j = 0; j < t->ncols; j++)
            fprintf(app.out, "%s%s", j ? "|" : "", t->text.p + t->off[j]);
        fputc('\n', app.out);
        return;
    }
    put_line(t, 0, true);
    for (int j = 0; j < t->ncols; j++) {
        fputs(j ? "+" : "", app.out);
        for (int k = 0; k < t->w[j] + 2; k++)
            fputc('-', app.out);
    }
    fputc('\n', app.out);
}

/* Print the block (widening columns to fit it) and empty it. */
static void table_flush(struct table *t)
{
    size_t nc = (size_t)t->ncols;
    for (int i = 0; i < t->n; i++)
        for (size_t j = 0; j < nc; j++)
            if (t->cw[nc * (size_t)(i + 1) + j] > t->w[j])
                t->w[j] = t->cw[nc * (size_t)(i + 1) + j];
    if (!t->header_done)
        table_header(t);
    for (int i = 0; i < t->n; i++)
        put_line(t, nc * (size_t)(i + 1), false);
    t->rows += t->n;
    t->n = 0;
    t->text.len = nc ? t->off[nc - 1] + strlen(t->text.p + t->off[nc - 1]) + 1 : 0;
}

/* Add row 0 of r. false: out of memory. */
static bool table_row(struct table *t, const struct loom_pg_result *r)
{
    size_t base = (size_t)t->ncols * (size_t)(t->n + 1);
    for (int j = 0; j < t->ncols; j++) {
        struct loom_pg_cell c = {.null = true};
        loom_pg_cell(r, 0, j, &c);
        const char *v = c.null ? app.null_text : c.data;
        size_t len = c.null ? strlen(v) : (size_t)c.len;
        if (app.unaligned) {
            if (!t->header_done)
                table_header(t);
            fputs(j ? "|" : "", app.out);
            put_safe(app.out, v, len);
        } else if (!table_cell(t, base + (size_t)j, v, len)) {
            return false;
        }
    }
    if (app.unaligned) {
        fputc('\n', app.out);
        t->rows++;
    } else if (++t->n == app.batch) {
        table_flush(t);
    }
    return true;
}

static void table_end(struct table *t)
{
    table_flush(t);
    if (!app.tuples_only)
        fprintf(app.out, "(%ld row%s)\n", t->rows, t->rows == 1 ? "" : "s");
    if (!app.unaligned) /* psql ends an aligned table with a blank line, even with -t */
        fputc('\n', app.out);
    table_free(t);
}

/* --- running statements --- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static ssize_t read_line(struct loom_stream *in, struct buf *b);
static ssize_t edit_line(struct loom_stream *in, struct buf *b);

/* A line holding only the end-of-data marker "\\." */
static bool is_copy_end(const struct buf *b)
{
    return b->len >= 2 && b->p[0] == '\\' && b->p[1] == '.' &&
           strspn(b->p + 2, "\r\n") == b->len - 2;
}

/* Serve COPY ... FROM STDIN from the input, as psql: the lines that follow the
 * statement, up to a line "\\." or the end of input (with -c: standard input). */
static int copy_in(struct loom_pg_script *s)
{
    if (!app.in && loom_stream_open_fd(loom_loop_current(), 0, LOOM_STREAM_BORROW, &app.in) < 0)
        return loom_pg_script_copy_end(s, "loom-sql cannot read standard input");
    if (app.tty)
        fputs("Enter data to be copied followed by a newline.\n"
              "End with a backslash and a period on a line by itself, or an EOF signal.\n",
              stdout);
    struct buf line = {0};
    int rc;
    app.prompt = ">> ";
    for (;;) {
        ssize_t n = app.tty ? edit_line(app.in, &line) : read_line(app.in, &line);
        if (n < 0) {
            rc = loom_pg_script_copy_end(s, n == -ECANCELED ? "cancelled (Ctrl-C)"
                                                            : "loom-sql cannot read the input");
            break;
        }
        if (n == 0 || is_copy_end(&line)) {
            rc = loom_pg_script_copy_end(s, NULL);
            break;
        }
        app.line_no++;
        if ((rc = loom_pg_script_copy_send(s, line.p, (size_t)n)) < 0)
            break;
    }
    app.prompt = NULL;
    free(line.p);
    return rc;
}

/* Show one step of a script's results; false: out of memory. */
static bool show_step(struct loom_pg_script *s, int step, struct table *t, bool *in_set)
{
    const struct loom_pg_result *r = loom_pg_script_result(s);
    if ((step == LOOM_PG_SCRIPT_ROW || step == LOOM_PG_SCRIPT_SET_END) && !*in_set) {
        if (!table_start(t, r))
            return false;
        *in_set = true;
    }
    if (step == LOOM_PG_SCRIPT_ROW)
        return table_row(t, r);
    if (step == LOOM_PG_SCRIPT_SET_END) {
        table_end(t);
        *in_set = false;
    } else if (step == LOOM_PG_SCRIPT_COMMAND) {
        fprintf(app.out, "%s\n", loom_pg_status(r));
    } else if (step == LOOM_PG_SCRIPT_COPY_DATA) {
        size_t len;
        const char *d = loom_pg_script_copy_data(s, &len);
        fwrite(d, 1, len, app.out);
    }
    return true;
}

/* Say why statement failed with rc and decide whether to go on. */
static void statement_failed(int rc)
{
    app.failed = true;
    if (rc == -ECANCELED) {
        report("ERROR:  statement cancelled (Ctrl-C)\n");
    } else if (rc == LOOM_EPG || rc == -ECONNRESET) {
        const char *st = loom_pg_sqlstate(&app.c), *d = loom_pg_errdetail(&app.c);
        report("%s:  %s%s", rc == LOOM_EPG ? "ERROR" : "FATAL", st, st[0] ? ": " : "");
        put_safe(stderr, loom_pg_errmsg(&app.c), strlen(loom_pg_errmsg(&app.c)));
        if (d[0]) {
            fputs("\nDETAIL:  ", stderr);
            put_safe(stderr, d, strlen(d));
        }
        fputc('\n', stderr);
    } else {
        report("ERROR:  %s\n", loom_strerror(rc));
    }
    if (loom_pg_broken(&app.c)) {
        fprintf(stderr, "loom-sql: the connection to the server was lost\n");
        app.exit = EXIT_CONN;
    } else if (app.on_error_stop && !app.tty) {
        app.exit = EXIT_STOPPED;
    }
}

/* Run sql (one simple query) and show every result it yields. */
static void run_sql(const char *sql)
{
    double t0 = now_ms();
    struct loom_pg_script s;
    struct table t = {0};
    bool in_set = false;
    int rc = loom_pg_script_open(&app.c, &s, sql);
    while (rc == 0) {
        int step = loom_pg_script_next(&s);
        if (step <= 0) {
            rc = step;
            break;
        }
        if (step == LOOM_PG_SCRIPT_COPY_IN)
            rc = copy_in(&s);
        else if (!show_step(&s, step, &t, &in_set))
            rc = -ENOMEM;
        else if (ferror(app.out)) /* the reader went away (| head): stop the rows */
            rc = -EPIPE;
    }
    loom_pg_script_close(&s);
    if (in_set) /* the rows of a set cut short by an error are not shown, as psql */
        table_free(&t);
    if (rc < 0 && rc != -EPIPE)
        statement_failed(rc);
    if (app.timing && rc >= 0) /* as psql: a failed statement has no time */
        fprintf(app.out, "Time: %.3f ms\n", now_ms() - t0);
    if (fflush(app.out) != 0 || ferror(app.out)) {
        fprintf(stderr, "loom-sql: cannot write the results: %s\n", strerror(errno));
        app.exit = EXIT_FAILED;
    }
}

/* Run the collected statement (if it has more than blanks and comments). */
static void run_statement(void)
{
    if (app.lex.content)
        run_sql(app.stmt.p);
    app.stmt.len = 0;
    if (app.stmt.p)
        app.stmt.p[0] = 0;
    app.lex.content = false;
    app.lex.words = app.lex.begin = 0;
}

/* --- meta-commands --- */

/* "on", "off", "1", "0", "true", "false"; -1 if none of them. */
static int on_off(const char *v)
{
    if (!strcasecmp(v, "on") || !strcmp(v, "1") || !strcasecmp(v, "true"))
        return 1;
    if (!strcasecmp(v, "off") || !strcmp(v, "0") || !strcasecmp(v, "false"))
        return 0;
    return -1;
}

/* Set variable NAME=VALUE (or NAME VALUE); false if unknown. */
static bool set_var(const char *name, size_t len, const char *value)
{
    int v = on_off(value);
    if (len != strlen("ON_ERROR_STOP") || strncmp(name, "ON_ERROR_STOP", len) || v < 0)
        return false;
    app.on_error_stop = v;
    return true;
}

/* Send results to path (NULL: standard output). false if it cannot be opened. */
static bool set_output(const char *path)
{
    FILE *f = path ? fopen(path, "w") : stdout;
    if (!f)
        return false;
    if (app.out && app.out != stdout)
        fclose(app.out);
    app.out = f;
    return true;
}

/* A line starting with '\'; false to quit. */
static bool meta(char *line)
{
    char *cmd = strtok(line + 1, " \t\r\n"), *arg = strtok(NULL, " \t\r\n");
    char *arg2 = arg ? strtok(NULL, " \t\r\n") : NULL;
    if (!cmd || !strcmp(cmd, "q"))
        return !cmd;
    if (!strcmp(cmd, "g")) {
        run_statement();
    } else if (!strcmp(cmd, "timing") && (!arg || on_off(arg) >= 0)) {
        app.timing = arg ? on_off(arg) : !app.timing;
        fprintf(app.out, "Timing is %s.\n", app.timing ? "on" : "off");
    } else if (!strcmp(cmd, "o")) {
        if (!set_output(arg))
            report("%s: %s\n", arg, strerror(errno)), app.failed = true;
    } else if (!strcmp(cmd, "set") && arg && arg2 && set_var(arg, strlen(arg), arg2)) {
    } else if (!strcmp(cmd, "?")) {
        fputs(strstr(usage, "Meta-commands"), app.out);
    } else {
        report("invalid command \\%s (try \\?)\n", cmd);
        app.failed = true;
        if (app.on_error_stop && !app.tty)
            app.exit = EXIT_STOPPED;
    }
    return true;
}

/* Feed one input line (with its '\n', if any): statements run as their ';' comes.
 * false: stop reading (\q, or a stop from a failure). */
static bool feed_line(char *line, size_t n)
{
    app.line_no++;
    size_t k = strspn(line, " \t");
    if (app.lex.st == L_NORMAL && line[k] == '\\')
        return meta(line + k) && !app.exit;
    size_t start = 0;
    for (size_t i = 0; i < n && !app.exit; i++) {
        if (!lex_step(&app.lex, line, n, &i))
            continue;
        if (!buf_add(&app.stmt, line + start, i + 1 - start)) {
            report("statement longer than %d bytes\n", MAX_STATEMENT);
            app.exit = EXIT_FAILED;
            return false;
        }
        start = i + 1;
        run_statement();
    }
    if (app.exit)
        return false;
    if (app.lex.st == L_LINE_COMMENT)
        app.lex.st = L_NORMAL; /* ends with the line (a last line may have no '\n') */
    if (start < n && !buf_add(&app.stmt, line + start, n - start)) {
        report("statement longer than %d bytes\n", MAX_STATEMENT);
        app.exit = EXIT_FAILED;
        return false;
    }
    return true;
}

/* --- input: lines from a stream, or edited at a terminal prompt --- */

/* The next line of in into b (with its '\n'; the last may lack one): its
 * length, 0 at the end, or an error (-ECANCELED: Ctrl-C). */
static ssize_t read_line(struct loom_stream *in, struct buf *b)
{
    b->len = 0;
    for (;;) {
        const void *data;
        ssize_t n = loom_stream_peek(in, &data, 1, -1);
        if (n == LOOM_EOF)
            return (ssize_t)b->len;
        if (n < 0)
            return n;
        const char *nl = memchr(data, '\n', (size_t)n);
        size_t take = nl ? (size_t)(nl - (const char *)data) + 1 : (size_t)n;
        if (!buf_add(b, data, take))
            return LOOM_ELIMIT;
        loom_stream_consume(in, take);
        if (nl)
            return (ssize_t)b->len;
    }
}

static void redraw(const struct buf *b)
{
    bool more = app.stmt.len > 0;
    fputs("\r\033[2K", stdout);
    fputs(app.prompt ? app.prompt : more ? "sql-> " : "sql=> ", stdout);
    put_safe(stdout, b->p ? b->p : "", b->len);
    fflush(stdout);
}

/* Read and drop the rest of an escape sequence (ESC [ ... final, ESC O x). */
static void skip_escape(struct loom_stream *in)
{
    int k = loom_term_read_key(in, LOOM_MS(50));
    if (k == 'O') {
        loom_term_read_key(in, LOOM_MS(50));
    } else if (k == '[') {
        while ((k = loom_term_read_key(in, LOOM_MS(50))) >= 0 && (k < 0x40 || k > 0x7e))
            ;
    }
}

/* Edit a line at the prompt (UTF-8 aware: backspace removes a whole
 * character); like read_line. Ctrl-C drops the line and the statement. */
static ssize_t edit_line(struct loom_stream *in, struct buf *b)
{
    b->len = 0;
    redraw(b);
    for (;;) {
        int k = loom_term_read_key(in, -1);
        if (k == -ECANCELED) {
            fputs("^C\n", stdout);
            app.stmt.len = 0, app.lex = (struct lexer){0};
            b->len = 0;
            redraw(b);
        } else if (k < 0 || (k == LOOM_KEY_CTRL_D && b->len == 0)) {
            fputs("\n", stdout);
            return k == LOOM_EOF || k == LOOM_KEY_CTRL_D ? 0 : k;
        } else if (k == LOOM_KEY_ENTER) {
            fputs("\n", stdout);
            return buf_add(b, "\n", 1) ? (ssize_t)b->len : LOOM_ELIMIT;
        } else if (k == LOOM_KEY_BACKSPACE) {
            while (b->len > 0 && ((unsigned char)b->p[b->len - 1] & 0xC0) == 0x80)
                b->len--; /* continuation bytes, then the lead byte */
            b->len -= b->len > 0;
            redraw(b);
        } else if (k == 0x1b) { /* arrows, Home...: no history here; swallow the sequence */
            skip_escape(in);
        } else if (k == 0x15) { /* Ctrl-U */
            b->len = 0;
            redraw(b);
        } else if (k >= 32 || k == '\t') {
            char ch = (char)k;
            if (!buf_add(b, &ch, 1))
                return LOOM_ELIMIT;
            if (k < 0x80 || (k & 0xC0) == 0x80) /* redraw once a character may be whole */
                redraw(b);
        }
        if (b->p)
            b->p[b->len] = 0;
    }
}

/* Read and run statements until the end of input, \q or a stop. */
static void run_input(struct loom_stream *in)
{
    struct buf line = {0};
    for (;;) {
        ssize_t n = app.tty ? edit_line(in, &line) : read_line(in, &line);
        if (n == LOOM_ELIMIT) {
            report("line longer than %d bytes\n", MAX_STATEMENT);
            app.exit = EXIT_FAILED;
        } else if (n == -ECANCELED) {
            app.exit = EXIT_FAILED; /* Ctrl-C while waiting for piped input */
        } else if (n < 0) {
            report("cannot read the input: %s\n", loom_strerror((int)n));
            app.exit = EXIT_FAILED;
        }
        if (n <= 0 || !feed_line(line.p, (size_t)n))
            break;
    }
    if (!app.exit && app.stmt.len > 0 && app.lex.content)
        run_statement(); /* an unterminated last statement, as psql runs it */
    free(line.p);
}

static void on_sigint(struct loom_signal *s, int signum)
{
    if (app.main)
        loom_task_cancel(app.main);
}

static int connect_session(void)
{
    const char *env = getenv("LOOM_PG_DSN");
    const char *dsn = opts_text("--dsn",
                                env && *env ? env
                                            : "host=127.0.0.1 port=5432 "
                                              "user=postgres password=postgres dbname=products",
                                4096);
    setenv("PGCLIENTENCODING", "UTF8", 1); /* output is sanitized as UTF-8 */
    int rc = loom_pg_connect(&app.c, dsn, LOOM_SEC(30));
    if (rc < 0) {
        const char *why = loom_pg_errmsg(&app.c); /* libpq's text, as psql prints it */
        fprintf(stderr, "loom-sql: error: %s\n", why[0] ? why : loom_strerror(rc));
        return EXIT_CONN;
    }
    loom_pg_set_notice_cb(&app.c, on_notice, NULL);
    return 0;
}

/* Open --file or standard input. */
static int open_input(struct loom_stream **in)
{
    const char *path = opts_str("--file", NULL);
    if (path && !strcmp(path, "-"))
        path = NULL; /* "-f -": standard input, as psql */
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : 0;
    if (fd < 0) {
        fprintf(stderr, "loom-sql: %s: %s\n", path, strerror(errno));
        return EXIT_FAILED;
    }
    app.source = path ? path : "<stdin>";
    int rc = loom_stream_open_fd(loom_loop_current(), fd, path ? 0 : LOOM_STREAM_BORROW, in);
    if (rc < 0) {
        fprintf(stderr, "loom-sql: cannot read %s: %s\n", app.source, loom_strerror(rc));
        return EXIT_FAILED;
    }
    app.tty = !path && loom_term_isatty(0) && loom_term_isatty(1) && loom_term_raw(0) == 0;
    return 0;
}

/* Ctrl-C cancels whatever main waits for: a statement (the server is asked
 * to stop it), the line being edited at a prompt, piped input (loom-sql
 * stops), a connect. */
static intptr_t main_task(void *arg)
{
    app.main = loom_task_current();
    struct loom_signal sig;
    loom_signal_init(loom_loop_current(), &sig, on_sigint);
    if (loom_signal_start(&sig, SIGINT) < 0) /* Ctrl-C then ends the program */
        fprintf(stderr, "loom-sql: Ctrl-C will not cancel statements\n");
    int rc = connect_session();
    if (rc) {
        loom_signal_stop(&sig);
        return rc;
    }
    const char *cmd = opts_str("--command", NULL);
    if (cmd) {
        app.source = "<command>";
        app.line_no = 1;
        run_sql(cmd);
    } else {
        app.exit = open_input(&app.in);
        if (!app.exit)
            run_input(app.in);
        if (app.tty)
            loom_term_restore();
    }
    loom_stream_close(app.in);
    loom_signal_stop(&sig);
    app.main = NULL;
    loom_pg_close(&app.c);
    if (app.exit)
        return app.exit;
    return app.failed && !app.tty ? EXIT_FAILED : 0;
}

/* Options that need no connection: checked before connecting. */
static void setup(void)
{
    if (!set_output(opts_str("--output", NULL))) {
        fprintf(stderr, "loom-sql: %s: %s\n", opts_str("--output", ""), strerror(errno));
        exit(EXIT_FAILED);
    }
    const char *var = opts_str("--set", NULL), *eq = var ? strchr(var, '=') : NULL;
    if (var && (!eq || !set_var(var, (size_t)(eq - var), eq + 1)))
        opts_fail("--set: '%s' is not ON_ERROR_STOP=1|0|on|off", var);
    if (opts_flag("--on-error-stop"))
        app.on_error_stop = true;
    app.timing = opts_flag("--timing");
    app.unaligned = opts_flag("--no-align");
    app.tuples_only = opts_flag("--tuples-only");
    app.null_text = opts_str("--null", "(null)");
    app.batch = (int)opts_long("--batch", 1000, 1, 1000000);
    /* widths by wcwidth need a UTF-8 character type whatever the environment says */
    if (!setlocale(LC_CTYPE, "C.UTF-8"))
        setlocale(LC_CTYPE, "");
    static char obuf[1 << 16]; /* whole blocks, not a write per line */
    if (app.out == stdout && !isatty(1))
        setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
}

int main(int argc, char **argv)
{
    opts_init(argc, argv, usage);
    setup();
    intptr_t rc = loom_run(main_task, NULL);
    if (app.out && app.out != stdout)
        fclose(app.out);
    if (rc < 0) {
        fprintf(stderr, "loom-sql: %s\n", loom_strerror((int)rc));
        return EXIT_FAILED;
    }
    return (int)rc;
}
