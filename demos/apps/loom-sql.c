/* loom-sql - an async SQL client (listing 8.11 grown up).
 *
 * Every line typed (or piped in) is a query that runs as its own task on a
 * pool of connections, so several can run at once and a slow one does not
 * block the prompt. Results print as aligned tables, errors with their
 * SQLSTATE. On a terminal the input line is edited in cbreak mode at the
 * bottom with a spinner while queries run; Ctrl-C cancels the running
 * queries (the server is told to stop them), not the program; Ctrl-D or EOF
 * waits for what is running and quits. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/opts.h"
#include "db/pg.h"
#include "net/stream.h"
#include "net/term.h"
#include "reactor/task.h"

static const char usage[] =
    "usage: loom-sql [--dsn CONNINFO] [--pool N]\n"
    "An async SQL client: each line is a query run concurrently on a pool of N\n"
    "connections (default 6) to --dsn (default $LOOM_PG_DSN, else\n"
    "host=127.0.0.1 port=5432 user=postgres password=postgres dbname=products).\n"
    "Ctrl-C cancels the running queries; Ctrl-D (or end of input) quits.\n";

enum { MAXQ = 64 };

static struct {
    struct loom_pg_pool pool;
    struct loom_task *slots[MAXQ]; /* query tasks (joined when their slot is reused) */
    int running;
    bool tty;
    char line[4096]; /* the input line being edited (tty) */
    size_t len;
    unsigned spin;
} app;

/* Redraw the input line with the spinner in front (terminal only). */
static void redraw(void)
{
    if (!app.tty)
        return;
    static const char spin[] = "|/-\\";
    loom_term_erase_line(stdout);
    loom_term_column0(stdout);
    printf("%c sql> %.*s", app.running ? spin[app.spin % 4] : ' ', (int)app.len, app.line);
    fflush(stdout);
}

/* Print a result block above the input line. */
/* Print text above the prompt: results on stdout, errors on stderr (as psql). */
static void emit_to(FILE *f, const char *text)
{
    if (app.tty) {
        loom_term_erase_line(stdout);
        loom_term_column0(stdout);
        fflush(stdout);
    }
    fputs(text, f);
    fflush(f);
    redraw();
}

static void emit(const char *text) { emit_to(stdout, text); }

/* Format r as an aligned table into a malloc'd string. */
static char *table(const struct loom_pg_result *r, const char *sql)
{
    int nc = loom_pg_ncols(r), nr = loom_pg_nrows(r), w[64] = {0};
    nc = nc > 64 ? 64 : nc;
    for (int j = 0; j < nc; j++) {
        w[j] = (int)strlen(loom_pg_colname(r, j));
        for (int i = 0; i < nr; i++)
            if ((int)strlen(loom_pg_text(r, i, j)) > w[j])
                w[j] = (int)strlen(loom_pg_text(r, i, j));
    }
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    for (int j = 0; j < nc; j++)
        fprintf(f, "%s %-*s ", j ? "|" : "", w[j], loom_pg_colname(r, j));
    fputc('\n', f);
    for (int j = 0; j < nc; j++) {
        fprintf(f, "%s", j ? "+" : "");
        for (int k = 0; k < w[j] + 2; k++)
            fputc('-', f);
    }
    fputc('\n', f);
    for (int i = 0; i < nr; i++) {
        for (int j = 0; j < nc; j++)
            fprintf(f, "%s %-*s ", j ? "|" : "", w[j], loom_pg_text(r, i, j));
        fputc('\n', f);
    }
    fprintf(f, "(%d row%s)\nFetched %d rows from: %s\n", nr, nr == 1 ? "" : "s", nr, sql);
    fclose(f);
    return out;
}

static intptr_t run_query(void *arg)
{
    char *sql = arg, buf[2 * LOOM_PG_ERRMSG + 64];
    struct loom_pg *c;
    int rc = loom_pg_pool_acquire(&app.pool, &c, LOOM_SEC(30));
    if (rc < 0) {
        const char *why = loom_pg_pool_errmsg(&app.pool); /* libpq's text, as psql prints it */
        snprintf(buf, sizeof buf, "ERROR: no connection: %s\n", why[0] ? why : loom_strerror(rc));
        emit_to(stderr, buf);
    } else {
        struct loom_pg_result r = {0};
        ssize_t n = loom_pg_exec(c, &r, sql);
        if (n == -ECANCELED) {
            snprintf(buf, sizeof buf, "Cancelled: %s\n", sql);
            emit(buf);
        } else if (n < 0) {
            snprintf(buf, sizeof buf, "ERROR [%s]: %s%s%s\n", loom_pg_sqlstate(c),
                     loom_pg_errmsg(c), loom_pg_errdetail(c)[0] ? "\nDETAIL: " : "",
                     loom_pg_errdetail(c));
            emit_to(stderr, buf);
        } else if (loom_pg_has_rows(&r)) {
            char *t = table(&r, sql);
            emit(t);
            free(t);
        } else {
            snprintf(buf, sizeof buf, "%s\n", loom_pg_status(&r));
            emit(buf);
        }
        loom_pg_result_clear(&r);
        loom_pg_pool_release(&app.pool, c);
    }
    free(sql);
    app.running--;
    redraw();
    return 0;
}

/* Start a query task in a free slot. */
static void submit(const char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    if (!*text)
        return;
    for (int i = 0; i < MAXQ; i++) {
        if (app.slots[i] && !loom_task_done(app.slots[i]))
            continue;
        if (app.slots[i])
            loom_task_join(app.slots[i]); /* already done: returns at once */
        char *sql = strdup(text);
        app.slots[i] = sql ? loom_spawn(run_query, sql, "query") : NULL;
        if (app.slots[i])
            app.running++;
        else
            free(sql);
        redraw();
        return;
    }
    emit("ERROR: too many queries running\n");
}

static void on_sigint(struct loom_signal *s, int signum)
{
    for (int i = 0; i < MAXQ; i++)
        if (app.slots[i] && !loom_task_done(app.slots[i]))
            loom_task_cancel(app.slots[i]);
}

static intptr_t spinner(void *arg)
{
    for (;;) {
        if (loom_sleep(LOOM_MS(100)) < 0)
            return 0;
        app.spin++;
        if (app.running)
            redraw();
    }
}

/* Read keys and edit the line; 0 at Ctrl-D/EOF. */
static int read_tty(struct loom_stream *in)
{
    int k = loom_term_read_key(in, -1);
    if (k < 0 || (k == LOOM_KEY_CTRL_D && app.len == 0))
        return 0;
    if (k == LOOM_KEY_ENTER) {
        app.line[app.len] = 0;
        app.len = 0;
        emit("\n");
        submit(app.line);
    } else if (k == LOOM_KEY_BACKSPACE) {
        app.len -= app.len > 0;
        redraw();
    } else if (k >= 32 && app.len < sizeof app.line - 1) {
        app.line[app.len++] = (char)k;
        redraw();
    }
    return 1;
}

static intptr_t main_task(void *arg)
{
    const char *env = getenv("LOOM_PG_DSN");
    struct loom_pg_pool_options o = {
        .conninfo = opts_text("--dsn",
                              env && *env ? env
                                          : "host=127.0.0.1 port=5432 "
                                            "user=postgres password=postgres dbname=products",
                              4096),
        .min_size = 1,
        .max_size = (int)opts_long("--pool", 6, 1, MAXQ)};
    int rc = loom_pg_pool_open(&app.pool, &o);
    if (rc < 0) {
        const char *why = loom_pg_pool_errmsg(&app.pool); /* libpq's text, as psql prints it */
        fprintf(stderr, "loom-sql: error: %s\n", why[0] ? why : loom_strerror(rc));
        return rc;
    }
    struct loom_stream *in;
    rc = loom_stream_open_fd(loom_loop_current(), 0, LOOM_STREAM_BORROW, &in);
    if (rc < 0) {
        fprintf(stderr, "loom-sql: cannot read standard input: %s\n", loom_strerror(rc));
        loom_pg_pool_close(&app.pool, LOOM_SEC(5));
        return rc;
    }
    struct loom_signal sig;
    loom_signal_init(loom_loop_current(), &sig, on_sigint);
    rc = loom_signal_start(&sig, SIGINT);
    if (rc < 0) /* Ctrl-C then ends the program instead of cancelling queries */
        fprintf(stderr, "loom-sql: Ctrl-C will not cancel queries: %s\n", loom_strerror(rc));
    app.tty = loom_term_isatty(0) && loom_term_isatty(1) && loom_term_raw(0) == 0;
    struct loom_task *spin = app.tty ? loom_spawn(spinner, NULL, "spinner") : NULL;
    redraw();
    char line[4096];
    while (app.tty ? read_tty(in) : loom_stream_readline(in, line, sizeof line, -1) > 0) {
        if (!app.tty) {
            line[strcspn(line, "\r\n")] = 0;
            submit(line);
        }
    }
    for (int i = 0; i < MAXQ; i++)
        if (app.slots[i])
            loom_task_join(app.slots[i]);
    if (spin) {
        loom_task_cancel(spin);
        loom_task_join(spin);
        loom_term_restore();
        printf("\n");
    }
    loom_signal_stop(&sig);
    loom_stream_close(in);
    return loom_pg_pool_close(&app.pool, LOOM_SEC(5));
}

int main(int argc, char **argv)
{
    opts_init(argc, argv, usage);
    intptr_t rc = loom_run(main_task, NULL);
    if (rc == LOOM_EPG) /* main_task printed libpq's text already */
        return 2;       /* psql's status for a failed connection */
    if (rc < 0) {
        fprintf(stderr, "loom-sql: %s\n", loom_strerror((int)rc));
        return 1;
    }
    return 0;
}
