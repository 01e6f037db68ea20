/* check_demos_pg.c - smoke tests for the chapter-5 demos, in book order,
 * against a fresh database `ch05` on the harness's cluster (or on the server
 * of $LOOM_PG_DSN): 5.3 creates the schema, 5.4-5.6 fill it, the rest read
 * it, so the tests depend on running in this order (Check keeps it). */
#include "harness/harness.h"
#include "harness/pg.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run demos/ch05/listing_<name> with args (NULL-terminated); assert exit 0. */
static char *run_listing(const char *name, double *elapsed, ...)
{
    char rel[64];
    snprintf(rel, sizeof rel, "demos/ch05/listing_%s", name);
    va_list ap;
    va_start(ap, elapsed);
    char *out = test_run_demov(rel, NULL, elapsed, ap);
    va_end(ap);
    return out;
}

#define LISTING_TEST(id, ...)                                                                      \
    START_TEST(listing_##id)                                                                       \
    {                                                                                              \
        double elapsed = 0;                                                                        \
        char *out = run_listing(#id, &elapsed, __VA_ARGS__);                                       \
        check_##id(out, elapsed);                                                                  \
        free(out);                                                                                 \
    }                                                                                              \
    END_TEST

static void check_5_1(const char *out, double t)
{
    ck_assert_contains(out, "Connected! Postgres version is ServerVersion(major=");
}

static void check_5_2(const char *out, double t)
{
    ck_assert_int_eq(test_count(out, "CREATE TABLE IF NOT EXISTS"), 5);
    ck_assert_contains(out, "INSERT INTO product_color VALUES(2, 'Black');");
    ck_assert_contains(out, "INSERT INTO product_size VALUES(3, 'Large');");
}

static void check_5_3(const char *out, double t)
{
    ck_assert_int_eq(test_count(out, "\nCREATE TABLE\n"), 5);
    ck_assert_int_eq(test_count(out, "\nINSERT 0 1\n"), 5);
}

static void check_5_4(const char *out, double t)
{
    ck_assert_contains(out, "<Record brand_id=1 brand_name='Levis'>\n"
                            "<Record brand_id=2 brand_name='Seven'>\n");
}

static void check_5_5(const char *out, double t) { ck_assert_contains(out, "Inserted 100 brands"); }

static void check_5_6(const char *out, double t)
{
    ck_assert_contains(out, "Inserted 1000 products");
    ck_assert_contains(out, "Inserted 100000 skus");
}

static void check_5_7(const char *out, double t)
{
    ck_assert_int_eq(test_count(out, "<Record product_id=100 product_name='"), 2);
}

static void check_5_8(const char *out, double t)
{
    const char *s = strstr(out, "synchronously took "), *c = strstr(out, "concurrently took ");
    ck_assert_msg(s && c && s < c, "output:\n%s", out);
    double seq = strtod(s + strlen("synchronously took "), NULL);
    double con = strtod(c + strlen("concurrently took "), NULL);
    ck_assert_msg(con < seq * 1.2, "concurrent %.3f s vs sequential %.3f s", con, seq);
}

static void check_5_9(const char *out, double t)
{
    ck_assert_contains(out, "<Record brand_name='brand_1'>\n<Record brand_name='brand_2'>\n");
}

static void check_5_10(const char *out, double t)
{
    ck_assert_contains(out, "UniqueViolationError [23505]");
    ck_assert_contains(out, "Key (brand_id)=(9999) already exists.");
    ck_assert_contains(out, "Query result was: []\n");
}

static void check_5_11(const char *out, double t)
{
    ck_assert_contains(out, "Ignoring error inserting product color: [23505]");
    ck_assert_contains(out, "<Record brand_name='my_new_brand'>");
}

static void check_5_12(const char *out, double t)
{
    ck_assert_contains(out, "No errors, committing transaction!");
    ck_assert_int_eq(test_count(out, "brand_name='brand_1'"), 2); /* 5.9's and ours */
}

static void check_5_14(const char *out, double t)
{
    const char *a = strstr(out, "Got number 1"), *b = strstr(out, "Got number 2");
    ck_assert_msg(a && b && a < b, "output:\n%s", out);
    ck_assert_contains(out, "async_generator");
    ck_assert_msg(t >= 0.29 && t < 2.0, "took %.3f s, expected ~0.3", t);
}

static void check_5_15(const char *out, double t)
{
    ck_assert_int_eq(test_count(out, "<Record product_id="), 1000);
    ck_assert_contains(out, "<Record product_id=1000 ");
}

static void check_5_16(const char *out, double t)
{
    ck_assert_int_eq(test_count(out, "<Record product_id="), 100);
    ck_assert_contains(out, "<Record product_id=501 ");
    ck_assert_contains(out, "<Record product_id=600 ");
}

static void check_5_17(const char *out, double t)
{
    ck_assert_int_eq(test_count(out, "<Record product_id="), 5);
}

LISTING_TEST(5_1, NULL)
LISTING_TEST(5_2, NULL)
LISTING_TEST(5_3, NULL)
LISTING_TEST(5_4, NULL)
LISTING_TEST(5_5, "--words", "demos/ch05/common_words.txt", NULL)
LISTING_TEST(5_6, "--words", "demos/ch05/common_words.txt", NULL)
LISTING_TEST(5_7, NULL)
LISTING_TEST(5_8, "--count", "200", NULL)
LISTING_TEST(5_9, NULL)
LISTING_TEST(5_10, NULL)
LISTING_TEST(5_11, NULL)
LISTING_TEST(5_12, NULL)
LISTING_TEST(5_14, "--scale", "0.1", NULL)
LISTING_TEST(5_15, NULL)
LISTING_TEST(5_16, NULL)
LISTING_TEST(5_17, NULL)

/* loom-sql with piped input: tables, errors with SQLSTATE, queries run at once. */
START_TEST(loom_sql_pipe)
{
    char path[512];
    char *argv[] = {(char *)test_build_path("bin/loom-sql", path, sizeof path), NULL};
    char *out = NULL;
    double t = 0;
    int rc = test_run(argv,
                      "SELECT brand_id, brand_name FROM brand WHERE brand_id <= 2 ORDER BY 1;\n"
                      "SELEC 1;\n"
                      "SELECT pg_sleep(0.6) AS a;\nSELECT pg_sleep(0.6) AS b;\n"
                      "SELECT pg_sleep(0.6) AS c;\nSELECT pg_sleep(0.6) AS d;\n",
                      30, &out, &t);
    ck_assert_msg(rc == 0, "loom-sql exited %d:\n%s", rc, out);
    ck_assert_contains(out, " brand_id | brand_name \n----------+------------\n"
                            " 1        | Levis      \n 2        | Seven      \n(2 rows)\n");
    ck_assert_contains(out, "ERROR [42601]: syntax error at or near \"SELEC\"");
    ck_assert_int_eq(test_count(out, "Fetched 1 rows from: SELECT pg_sleep"), 4);
    ck_assert_msg(t < 1.8, "4 x 0.6 s queries took %.2f s: not concurrent", t);
    free(out);
}
END_TEST

/* Wait (at most 10 s) until a query matching pattern is active on the server. */
static bool wait_active(const char *pattern)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE "
             "state = 'active' AND query LIKE '%s') THEN RAISE EXCEPTION 'no'; END IF; END $$;",
             pattern);
    for (double t0 = test_now(); test_now() - t0 < 10;) {
        if (test_pg_psql("postgres", sql) == 0)
            return true;
        usleep(50000);
    }
    return false;
}

/* Ctrl-C (SIGINT) cancels the running query, not the program. */
START_TEST(loom_sql_sigint)
{
    char path[512];
    int in[2], out[2];
    ck_assert(pipe(in) == 0 && pipe(out) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0), dup2(out[1], 1), dup2(out[1], 2);
        close(in[1]), close(out[0]);
        execl(test_build_path("bin/loom-sql", path, sizeof path), "loom-sql", (char *)NULL);
        _exit(127);
    }
    close(in[0]), close(out[1]);
    const char q[] = "SELECT pg_sleep(20) AS loom_sql_sigint;\n";
    ck_assert(write(in[1], q, sizeof q - 1) == (ssize_t)(sizeof q - 1));
    ck_assert(wait_active("SELECT pg_sleep(20) AS loom_sql_sigint%"));
    double t0 = test_now();
    kill(pid, SIGINT);
    close(in[1]); /* EOF: loom-sql quits once the cancelled query is done */
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 && (n = read(out[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = 0;
    close(out[0]);
    int st;
    waitpid(pid, &st, 0);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d, output:\n%s", st, buf);
    ck_assert_contains(buf, "Cancelled: SELECT pg_sleep(20)");
    ck_assert_msg(test_now() - t0 < 3, "took %.2f s after SIGINT", test_now() - t0);
}
END_TEST

/* loom-sql's options: each bad one exits 2 naming it, before any connection. */
START_TEST(loom_sql_bad_args)
{
    static const struct {
        const char *args[3];
        const char *says;
    } cases[] = {
        {{"--pool", "0"}, "loom-sql: --pool: '0' is out of range (1..64)"},
        {{"--pool", "abc"}, "loom-sql: --pool: 'abc' is not a whole number"},
        {{"--pool"}, "loom-sql: --pool needs a value"},
        {{"--dsn", "host=a\tb"}, "loom-sql: --dsn: control characters are not allowed"},
        {{"--verbose"}, "loom-sql: unknown option '--verbose'"},
        {{"SELECT 1"}, "loom-sql: unexpected argument 'SELECT 1'"},
    };
    char path[512];
    test_build_path("bin/loom-sql", path, sizeof path);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[5] = {path, (char *)cases[i].args[0], (char *)cases[i].args[1], NULL};
        char *out = NULL;
        double t;
        int rc = test_run(argv, NULL, 10, &out, &t);
        ck_assert_msg(rc == 2, "case %zu: exit %d, want 2:\n%s", i, rc, out);
        ck_assert_contains(out, cases[i].says);
        ck_assert_contains(out, "Try 'loom-sql --help'.");
        free(out);
    }
}
END_TEST

/* A failed connection: libpq's words, no source path, psql's status 2. */
START_TEST(loom_sql_refused)
{
    char path[512];
    char *argv[] = {(char *)test_build_path("bin/loom-sql", path, sizeof path), "--dsn",
                    "host=127.0.0.1 port=1 connect_timeout=5", NULL};
    char *out = NULL;
    double t;
    int rc = test_run(argv, "SELECT 1;\n", 20, &out, &t);
    ck_assert_msg(rc == 2, "exit %d, want 2:\n%s", rc, out);
    ck_assert_contains(out, "loom-sql: error: ");
    ck_assert_msg(!strstr(out, ".c:"), "a source path reached the user:\n%s", out);
    free(out);
}
END_TEST

int main(void)
{
    char dsn[512];
    if (test_pg_start() < 0 || test_pg_createdb("ch05") < 0)
        return EXIT_FAILURE;
    setenv("LOOM_PG_DSN", test_pg_dsn("ch05", dsn, sizeof dsn), 1);
    Suite *s = suite_create("demos_pg");
    const TTest *tests[] = {listing_5_1,  listing_5_2,  listing_5_3,  listing_5_4,
                            listing_5_5,  listing_5_6,  listing_5_7,  listing_5_8,
                            listing_5_9,  listing_5_10, listing_5_11, listing_5_12,
                            listing_5_14, listing_5_15, listing_5_16, listing_5_17};
    TCase *tc = test_tcase(s, "ch05", 90);
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        tcase_add_test(tc, tests[i]);
    tcase_add_test(tc, loom_sql_pipe);
    tcase_add_test(tc, loom_sql_sigint);
    tcase_add_test(tc, loom_sql_bad_args);
    tcase_add_test(tc, loom_sql_refused);
    int rc = test_main(s);
    test_pg_stop();
    return rc;
}
