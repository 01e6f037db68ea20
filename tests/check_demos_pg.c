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

/* loom-sql's scripts, types, exit statuses and terminal are tested in check_app_sql. */

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
    tcase_add_test(tc, loom_sql_refused);
    int rc = test_main(s);
    test_pg_stop();
    return rc;
}
