/* check_pg_types.c - typed parameters and results against a real server:
 * every supported type round-trips its extreme values in binary, the decoded
 * value agrees with the server's own text for it, NULL stays apart from zero
 * and empty, and malformed binary data is refused rather than read past. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/pg.h"
#include "harness/harness.h"
#include "harness/pg.h"
#include "harness/pgconn.h"
#include "reactor/task.h"

static void connect_ok(struct loom_pg *c)
{
    test_pg_connect_ok(c);
    ck_assert_int_ge(loom_pg_exec(c, NULL, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'"), 0);
}

/* SELECT $1, $1::text with p, binary results: cell of column 0 into *v and
 * the server's text of the value into text (NULL: "<null>"). */
static struct loom_pg_result rt;
static void roundtrip(struct loom_pg *c, struct loom_pg_param p, struct loom_pg_cell *v, char *text,
                      size_t cap)
{
    loom_pg_result_clear(&rt);
    ssize_t rc = loom_pg_query_typed(c, &rt, "SELECT $1, $1::text", 1, &p, LOOM_PG_BINARY_RESULTS);
    ck_assert_msg(rc == 1, "type %u: rc %zd: %s", p.type, rc, loom_pg_errmsg(c));
    ck_assert_int_eq(loom_pg_cell(&rt, 0, 0, v), 0);
    ck_assert(v->binary);
    if (p.type)
        ck_assert_uint_eq(v->type, p.type);
    struct loom_pg_cell t;
    ck_assert_int_eq(loom_pg_cell(&rt, 0, 1, &t), 0);
    snprintf(text, cap, "%.*s", t.null ? 6 : (int)t.len, t.null ? "<null>" : t.data);
}

static void int_rt(struct loom_pg *c, struct loom_pg_param p, int64_t want, const char *wtext)
{
    struct loom_pg_cell v;
    char text[64];
    int64_t got = 12345;
    roundtrip(c, p, &v, text, sizeof text);
    ck_assert_int_eq(loom_pg_cell_int(&v, &got), 0);
    ck_assert_int_eq(got, want);
    ck_assert_str_eq(text, wtext);
}

static void float_rt(struct loom_pg *c, struct loom_pg_param p, double want, const char *wtext)
{
    struct loom_pg_cell v;
    char text[64];
    double got = 1;
    roundtrip(c, p, &v, text, sizeof text);
    ck_assert_int_eq(loom_pg_cell_float(&v, &got), 0);
    if (isnan(want))
        ck_assert(isnan(got));
    else
        ck_assert(got == want);
    if (wtext)
        ck_assert_str_eq(text, wtext);
}

static intptr_t scalars_main(void *arg)
{
    struct loom_pg c;
    connect_ok(&c);
    struct loom_pg_cell v;
    char text[256];
    bool b;
    roundtrip(&c, loom_pg_p_bool(true), &v, text, sizeof text);
    ck_assert_int_eq(loom_pg_cell_bool(&v, &b), 0);
    ck_assert(b);
    ck_assert_str_eq(text, "true");
    roundtrip(&c, loom_pg_p_bool(false), &v, text, sizeof text);
    ck_assert_int_eq(loom_pg_cell_bool(&v, &b), 0);
    ck_assert(!b);

    int_rt(&c, loom_pg_p_int2(INT16_MIN), INT16_MIN, "-32768");
    int_rt(&c, loom_pg_p_int2(INT16_MAX), INT16_MAX, "32767");
    int_rt(&c, loom_pg_p_int4(INT32_MIN), INT32_MIN, "-2147483648");
    int_rt(&c, loom_pg_p_int4(INT32_MAX), INT32_MAX, "2147483647");
    int_rt(&c, loom_pg_p_int8(INT64_MIN), INT64_MIN, "-9223372036854775808");
    int_rt(&c, loom_pg_p_int8(INT64_MAX), INT64_MAX, "9223372036854775807");
    int_rt(&c, loom_pg_p_int8(0), 0, "0");

    float_rt(&c, loom_pg_p_float4(FLT_MAX), FLT_MAX, NULL);
    float_rt(&c, loom_pg_p_float4(-FLT_MIN), -FLT_MIN, NULL);
    float_rt(&c, loom_pg_p_float4(NAN), NAN, "NaN");
    float_rt(&c, loom_pg_p_float4(INFINITY), INFINITY, "Infinity");
    float_rt(&c, loom_pg_p_float8(DBL_MAX), DBL_MAX, "1.7976931348623157e+308");
    float_rt(&c, loom_pg_p_float8(DBL_TRUE_MIN), DBL_TRUE_MIN, "5e-324");
    float_rt(&c, loom_pg_p_float8(-INFINITY), -INFINITY, "-Infinity");
    float_rt(&c, loom_pg_p_float8(NAN), NAN, "NaN");
    float_rt(&c, loom_pg_p_float8(0.1), 0.1, "0.1");

    /* numeric: exact, as the server prints it */
    const char *nums[] = {"0",
                          "-0.0001",
                          "123456789012345678901234567890.000000000000000000001",
                          "10000",
                          "0.00000000000000000000000000000001",
                          "-99999999.9999",
                          "NaN",
                          "Infinity",
                          "-Infinity",
                          "1.50"};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strstr(nums[i], "Infinity") && loom_pg_server_version(&c) < 140000)
            continue; /* numeric infinity is PostgreSQL 14+ */
        char got[128];
        roundtrip(&c, loom_pg_p_numeric(nums[i]), &v, text, sizeof text);
        ck_assert_int_eq(loom_pg_cell_numeric(&v, got, sizeof got), 0);
        ck_assert_str_eq(got, nums[i]);
        ck_assert_str_eq(text, nums[i]);
        if (strlen(nums[i]) >= 3)
            ck_assert_int_eq(loom_pg_cell_numeric(&v, got, 3), -ENOSPC);
    }

    /* text: empty, UTF-8, long; an embedded NUL is refused before sending */
    const char *p;
    size_t n;
    const char *strs[] = {"", "h\xc3\xa9llo \xe2\x82\xac", "a'b\"c\\d{}"};
    for (size_t i = 0; i < 3; i++) {
        roundtrip(&c, loom_pg_p_text(strs[i], strlen(strs[i])), &v, text, sizeof text);
        ck_assert_int_eq(loom_pg_cell_bytes(&v, &p, &n), 0);
        ck_assert_uint_eq(n, strlen(strs[i]));
        ck_assert(memcmp(p, strs[i], n) == 0);
    }
    size_t big = 1 << 20;
    char *long_s = malloc(big);
    memset(long_s, 'x', big);
    roundtrip(&c, loom_pg_p_text(long_s, big), &v, text, sizeof text);
    ck_assert_int_eq(loom_pg_cell_bytes(&v, &p, &n), 0);
    ck_assert_uint_eq(n, big);
    free(long_s);
    struct loom_pg_param nul = loom_pg_p_text("a\0b", 3);
    ck_assert_int_eq(loom_pg_query_typed(&c, NULL, "SELECT $1", 1, &nul, 0), -EINVAL);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "22021");
    ck_assert_int_eq(loom_pg_query_typed(&c, NULL, "SELECT 1", 0, NULL, 0), 1); /* still usable */

    /* bytea: every byte value, NULs included, and empty */
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    roundtrip(&c, loom_pg_p_bytea(bytes, 256), &v, text, sizeof text);
    ck_assert_int_eq(loom_pg_cell_bytes(&v, &p, &n), 0);
    ck_assert_uint_eq(n, 256);
    ck_assert(memcmp(p, bytes, 256) == 0);
    ck_assert(strncmp(text, "\\x000102", 8) == 0);
    roundtrip(&c, loom_pg_p_bytea(bytes, 0), &v, text, sizeof text);
    ck_assert_int_eq(loom_pg_cell_bytes(&v, &p, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert(!v.null);

    /* uuid */
    uint8_t u[16], u2[16];
    for (int i = 0; i < 16; i++)
        u[i] = (uint8_t)(0xf0 + i);
    roundtrip(&c, loom_pg_p_uuid(u), &v, text, sizeof text);
    ck_assert_int_eq(loom_pg_cell_uuid(&v, u2), 0);
    ck_assert(memcmp(u, u2, 16) == 0);
    ck_assert_str_eq(text, "f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfeff");

    /* json and jsonb (jsonb's binary form carries a version byte) */
    roundtrip(&c, loom_pg_p_json("{\"a\": [1, null]}"), &v, text, sizeof text);
    ck_assert_int_eq(loom_pg_cell_bytes(&v, &p, &n), 0);
    ck_assert(n == 16 && memcmp(p, "{\"a\": [1, null]}", n) == 0);
    roundtrip(&c, loom_pg_p_jsonb("{\"b\":1,  \"a\":\"\\u00e9\"}"), &v, text, sizeof text);
    ck_assert_int_eq(loom_pg_cell_bytes(&v, &p, &n), 0);
    ck_assert_str_eq(text, "{\"a\": \"\xc3\xa9\", \"b\": 1}");
    ck_assert(n == strlen(text) && memcmp(p, text, n) == 0);
    loom_pg_result_clear(&rt);
    loom_pg_close(&c);
    return 0;
}

START_TEST(scalars) { ck_assert_int_eq(test_run_task(scalars_main, NULL), 0); }
END_TEST

static void ts_rt(struct loom_pg *c, struct loom_pg_param p, int64_t want, const char *wtext)
{
    struct loom_pg_cell v;
    char text[96];
    int64_t got = 1;
    roundtrip(c, p, &v, text, sizeof text);
    if (p.type == LOOM_PG_TIME)
        ck_assert_int_eq(loom_pg_cell_time(&v, &got), 0);
    else
        ck_assert_int_eq(loom_pg_cell_timestamp(&v, &got), 0);
    ck_assert_int_eq(got, want);
    ck_assert_str_eq(text, wtext);
}

static intptr_t times_main(void *arg)
{
    struct loom_pg c;
    connect_ok(&c);
    struct loom_pg_cell v;
    char text[96];
    int32_t d;
    struct {
        int32_t days;
        const char *text;
    } dates[] = {{0, "2000-01-01"},
                 {-2451545, "4714-11-24 BC"},
                 {-1, "1999-12-31"},
                 {2145031948, "5874897-12-31"}, /* the last date the server takes */
                 {LOOM_PG_DATE_INFINITY, "infinity"},
                 {LOOM_PG_DATE_NEG_INFINITY, "-infinity"}};
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        roundtrip(&c, loom_pg_p_date(dates[i].days), &v, text, sizeof text);
        ck_assert_int_eq(loom_pg_cell_date(&v, &d), 0);
        ck_assert_int_eq(d, dates[i].days);
        ck_assert_str_eq(text, dates[i].text);
    }
    /* the server's largest date, read back from its text */
    struct loom_pg_result r = {0};
    ck_assert_int_eq(loom_pg_query_typed(&c, &r, "SELECT '5874897-12-31'::date", 0, NULL,
                                         LOOM_PG_BINARY_RESULTS),
                     1);
    ck_assert_int_eq(loom_pg_cell(&r, 0, 0, &v), 0);
    ck_assert_int_eq(loom_pg_cell_date(&v, &d), 0);
    ck_assert_int_eq(d, 2145031948);
    loom_pg_result_clear(&r);

    ts_rt(&c, loom_pg_p_timestamp(0), 0, "2000-01-01 00:00:00");
    ts_rt(&c, loom_pg_p_timestamp(-1), -1, "1999-12-31 23:59:59.999999");
    ts_rt(&c, loom_pg_p_timestamp(LOOM_PG_TS_INFINITY), LOOM_PG_TS_INFINITY, "infinity");
    ts_rt(&c, loom_pg_p_timestamp(LOOM_PG_TS_NEG_INFINITY), LOOM_PG_TS_NEG_INFINITY, "-infinity");
    int64_t unix_now = 1700000000;
    ts_rt(&c, loom_pg_p_timestamptz((unix_now - LOOM_PG_EPOCH_OFFSET) * 1000000),
          (unix_now - LOOM_PG_EPOCH_OFFSET) * 1000000, "2023-11-14 22:13:20+00");
    ts_rt(&c, loom_pg_p_timestamptz(LOOM_PG_TS_INFINITY), LOOM_PG_TS_INFINITY, "infinity");
    /* 4713 BC, the earliest timestamp */
    ck_assert_int_eq(loom_pg_query_typed(&c, &r, "SELECT '4714-11-24 00:00:00 BC'::timestamp", 0,
                                         NULL, LOOM_PG_BINARY_RESULTS),
                     1);
    int64_t us;
    ck_assert_int_eq(loom_pg_cell(&r, 0, 0, &v), 0);
    ck_assert_int_eq(loom_pg_cell_timestamp(&v, &us), 0);
    ck_assert_int_eq(us, -211813488000000000LL);
    loom_pg_result_clear(&r);

    ts_rt(&c, loom_pg_p_time(0), 0, "00:00:00");
    ts_rt(&c, loom_pg_p_time(86400000000LL), 86400000000LL, "24:00:00");
    ts_rt(&c, loom_pg_p_time(45296000001LL), 45296000001LL, "12:34:56.000001");

    struct loom_pg_interval iv = {.us = 1, .days = -2, .months = 14}, iv2;
    roundtrip(&c, loom_pg_p_interval(iv), &v, text, sizeof text);
    ck_assert_int_eq(loom_pg_cell_interval(&v, &iv2), 0);
    ck_assert(iv2.us == 1 && iv2.days == -2 && iv2.months == 14);
    ck_assert_str_eq(text, "1 year 2 mons -2 days +00:00:00.000001");
    struct loom_pg_interval ivmax = {.us = INT64_MAX, .days = INT32_MAX, .months = INT32_MAX};
    roundtrip(&c, loom_pg_p_interval(ivmax), &v, text, sizeof text);
    ck_assert_int_eq(loom_pg_cell_interval(&v, &iv2), 0);
    ck_assert(iv2.us == INT64_MAX && iv2.days == INT32_MAX && iv2.months == INT32_MAX);

    /* text results: the time types need binary */
    ck_assert_int_eq(loom_pg_query_typed(&c, &r, "SELECT now()", 0, NULL, 0), 1);
    ck_assert_int_eq(loom_pg_cell(&r, 0, 0, &v), 0);
    ck_assert_int_eq(loom_pg_cell_timestamp(&v, &us), -EINVAL);
    loom_pg_result_clear(&r);
    loom_pg_result_clear(&rt);
    loom_pg_close(&c);
    return 0;
}

START_TEST(times) { ck_assert_int_eq(test_run_task(times_main, NULL), 0); }
END_TEST

/* --- arrays --- */

static intptr_t arrays_main(void *arg)
{
    struct loom_pg c;
    connect_ok(&c);
    struct loom_pg_cell v, e;
    struct loom_pg_array a;
    char text[256], buf[512];
    int64_t x;

    struct loom_pg_param ints[] = {loom_pg_p_int4(1), loom_pg_p_null(), loom_pg_p_int4(INT32_MIN)};
    ints[1].type = LOOM_PG_INT4;
    roundtrip(&c, loom_pg_p_array(LOOM_PG_INT4_ARRAY, 3, ints, buf, sizeof buf), &v, text,
              sizeof text);
    ck_assert_str_eq(text, "{1,NULL,-2147483648}");
    ck_assert_int_eq(loom_pg_array_open(&v, &a), 0);
    ck_assert_int_eq(a.n, 3);
    ck_assert_uint_eq(a.elem_type, LOOM_PG_INT4);
    ck_assert_int_eq(loom_pg_array_next(&a, &e), 1);
    ck_assert_int_eq(loom_pg_cell_int(&e, &x), 0);
    ck_assert_int_eq(x, 1);
    ck_assert_int_eq(loom_pg_array_next(&a, &e), 1);
    ck_assert_int_eq(loom_pg_cell_int(&e, &x), -ENODATA);
    ck_assert_int_eq(loom_pg_array_next(&a, &e), 1);
    ck_assert_int_eq(loom_pg_cell_int(&e, &x), 0);
    ck_assert_int_eq(x, INT32_MIN);
    ck_assert_int_eq(loom_pg_array_next(&a, &e), 0);

    /* empty arrays */
    roundtrip(&c, loom_pg_p_array(LOOM_PG_TEXT_ARRAY, 0, NULL, buf, sizeof buf), &v, text,
              sizeof text);
    ck_assert_str_eq(text, "{}");
    ck_assert_int_eq(loom_pg_array_open(&v, &a), 0);
    ck_assert_int_eq(a.n, 0);
    ck_assert_int_eq(loom_pg_array_next(&a, &e), 0);

    /* text elements, one empty (not NULL) */
    struct loom_pg_param strs[] = {loom_pg_p_text("", 0), loom_pg_p_text("a,b", 3)};
    roundtrip(&c, loom_pg_p_array(LOOM_PG_TEXT_ARRAY, 2, strs, buf, sizeof buf), &v, text,
              sizeof text);
    ck_assert_str_eq(text, "{\"\",\"a,b\"}");
    ck_assert_int_eq(loom_pg_array_open(&v, &a), 0);
    const char *p;
    size_t n;
    ck_assert_int_eq(loom_pg_array_next(&a, &e), 1);
    ck_assert_int_eq(loom_pg_cell_bytes(&e, &p, &n), 0);
    ck_assert(!e.null && n == 0);

    /* floats with NaN and infinity; timestamps with infinity */
    struct loom_pg_param fl[] = {loom_pg_p_float8(NAN), loom_pg_p_float8(-INFINITY)};
    roundtrip(&c, loom_pg_p_array(LOOM_PG_FLOAT8_ARRAY, 2, fl, buf, sizeof buf), &v, text,
              sizeof text);
    ck_assert_str_eq(text, "{NaN,-Infinity}");
    struct loom_pg_param ts[] = {loom_pg_p_timestamptz(LOOM_PG_TS_INFINITY),
                                 loom_pg_p_timestamptz(0)};
    roundtrip(&c, loom_pg_p_array(LOOM_PG_TIMESTAMPTZ_ARRAY, 2, ts, buf, sizeof buf), &v, text,
              sizeof text);
    ck_assert_str_eq(text, "{infinity,\"2000-01-01 00:00:00+00\"}");

    /* refused: mixed element types, numeric elements, a buffer too small */
    struct loom_pg_param mixed[] = {loom_pg_p_int4(1), loom_pg_p_int8(2)};
    struct loom_pg_param bad = loom_pg_p_array(LOOM_PG_INT4_ARRAY, 2, mixed, buf, sizeof buf);
    ck_assert_int_eq(bad.len, -2);
    ck_assert_int_eq(loom_pg_query_typed(&c, NULL, "SELECT $1", 1, &bad, 0), -EINVAL);
    struct loom_pg_param num = loom_pg_p_numeric("1");
    ck_assert_int_eq(loom_pg_p_array(LOOM_PG_NUMERIC_ARRAY, 1, &num, buf, sizeof buf).len, -2);
    ck_assert_int_eq(loom_pg_p_array(LOOM_PG_INT4_ARRAY, 3, ints, buf, 20).len, -2);

    /* arrays produced by the server: numeric[] and uuid[] read element-wise */
    struct loom_pg_result r = {0};
    ck_assert_int_eq(loom_pg_query_typed(&c, &r, "SELECT ARRAY[1.5, NULL, -0.001]::numeric[]", 0,
                                         NULL, LOOM_PG_BINARY_RESULTS),
                     1);
    ck_assert_int_eq(loom_pg_cell(&r, 0, 0, &v), 0);
    ck_assert_uint_eq(v.type, LOOM_PG_NUMERIC_ARRAY);
    ck_assert_int_eq(loom_pg_array_open(&v, &a), 0);
    ck_assert_int_eq(loom_pg_array_next(&a, &e), 1);
    ck_assert_int_eq(loom_pg_cell_numeric(&e, text, sizeof text), 0);
    ck_assert_str_eq(text, "1.5");
    ck_assert_int_eq(loom_pg_array_next(&a, &e), 1);
    ck_assert_int_eq(loom_pg_cell_numeric(&e, text, sizeof text), -ENODATA);
    ck_assert_int_eq(loom_pg_array_next(&a, &e), 1);
    ck_assert_int_eq(loom_pg_cell_numeric(&e, text, sizeof text), 0);
    ck_assert_str_eq(text, "-0.001");
    loom_pg_result_clear(&r);
    loom_pg_result_clear(&rt);
    loom_pg_close(&c);
    return 0;
}

START_TEST(arrays) { ck_assert_int_eq(test_run_task(arrays_main, NULL), 0); }
END_TEST

/* --- NULL vs zero/empty, text results, introspection --- */

static intptr_t nulls_main(void *arg)
{
    struct loom_pg c;
    connect_ok(&c);
    struct loom_pg_result r = {0};
    struct loom_pg_param nul8 = loom_pg_p_null(), z8 = loom_pg_p_int8(0);
    nul8.type = LOOM_PG_INT8;
    struct loom_pg_param ps[] = {nul8, z8, loom_pg_p_text("", 0), loom_pg_p_text(NULL, 0)};
    for (unsigned flags = 0; flags <= LOOM_PG_BINARY_RESULTS; flags++) {
        ck_assert_int_eq(
            loom_pg_query_typed(&c, &r, "SELECT $1 AS a, $2 AS b, $3 AS c, $4 AS d", 4, ps, flags),
            1);
        struct loom_pg_cell v;
        int64_t x = 7;
        const char *p;
        size_t n;
        ck_assert_int_eq(loom_pg_cell(&r, 0, 0, &v), 0);
        ck_assert_int_eq(loom_pg_cell_int(&v, &x), -ENODATA);
        ck_assert_int_eq(x, 7);
        ck_assert_int_eq(loom_pg_cell(&r, 0, 1, &v), 0);
        ck_assert_int_eq(loom_pg_cell_int(&v, &x), 0);
        ck_assert_int_eq(x, 0);
        ck_assert_int_eq(loom_pg_cell(&r, 0, 2, &v), 0);
        ck_assert_int_eq(loom_pg_cell_bytes(&v, &p, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_int_eq(loom_pg_cell(&r, 0, 3, &v), 0);
        ck_assert_int_eq(loom_pg_cell_bytes(&v, &p, &n), -ENODATA);
        ck_assert_int_eq(loom_pg_cell(&r, 0, 4, &v), -EINVAL);
        ck_assert_int_eq(loom_pg_cell(&r, 1, 0, &v), -EINVAL);
        ck_assert_str_eq(loom_pg_colname(&r, 1), "b");
        ck_assert_uint_eq(loom_pg_coltype(&r, 1), LOOM_PG_INT8);
        ck_assert(loom_pg_colbinary(&r, 1) == (flags != 0));
        /* a wrong-type read is refused, not guessed */
        ck_assert_int_eq(loom_pg_cell(&r, 0, 1, &v), 0);
        ck_assert_int_eq(loom_pg_cell_bytes(&v, &p, &n), -EINVAL);
        double f;
        ck_assert_int_eq(loom_pg_cell_float(&v, &f), -EINVAL);
        loom_pg_result_clear(&r);
    }
    /* text results decode too (numbers, bool, numeric, uuid) */
    ck_assert_int_eq(loom_pg_query_typed(&c, &r,
                                         "SELECT 1.25::float8, true, 12.500::numeric, "
                                         "'f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfeff'::uuid",
                                         0, NULL, 0),
                     1);
    struct loom_pg_cell v;
    double f;
    bool b;
    char num[32];
    uint8_t u[16];
    ck_assert_int_eq(loom_pg_cell(&r, 0, 0, &v), 0);
    ck_assert_int_eq(loom_pg_cell_float(&v, &f), 0);
    ck_assert(f == 1.25);
    ck_assert_int_eq(loom_pg_cell(&r, 0, 1, &v), 0);
    ck_assert_int_eq(loom_pg_cell_bool(&v, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(loom_pg_cell(&r, 0, 2, &v), 0);
    ck_assert_int_eq(loom_pg_cell_numeric(&v, num, sizeof num), 0);
    ck_assert_str_eq(num, "12.500");
    ck_assert_int_eq(loom_pg_cell(&r, 0, 3, &v), 0);
    ck_assert_int_eq(loom_pg_cell_uuid(&v, u), 0);
    ck_assert(u[0] == 0xf0 && u[15] == 0xff);
    loom_pg_result_clear(&r);

    /* describe: parameter and column types without running */
    ck_assert_int_eq(loom_pg_describe(&c, &r,
                                      "SELECT $1::int8 AS id, $2::text || 'x' AS name, "
                                      "now() AS at"),
                     0);
    ck_assert_int_eq(loom_pg_nparams(&r), 2);
    ck_assert_uint_eq(loom_pg_paramtype(&r, 0), LOOM_PG_INT8);
    ck_assert_uint_eq(loom_pg_paramtype(&r, 1), LOOM_PG_TEXT);
    ck_assert_uint_eq(loom_pg_paramtype(&r, 2), 0);
    ck_assert_int_eq(loom_pg_ncols(&r), 3);
    ck_assert_str_eq(loom_pg_colname(&r, 2), "at");
    ck_assert_uint_eq(loom_pg_coltype(&r, 2), LOOM_PG_TIMESTAMPTZ);
    loom_pg_result_clear(&r);
    ck_assert_int_eq(loom_pg_describe(&c, &r, "SELEC 1"), LOOM_EPG);
    ck_assert_str_eq(loom_pg_sqlstate(&c), "42601");
    /* a type the server cannot take from a binary int4: a clear server error, usable after */
    struct loom_pg_param i4 = loom_pg_p_int4(5);
    i4.type = LOOM_PG_INT8; /* 4 bytes claimed to be int8 */
    ck_assert_int_eq(loom_pg_query_typed(&c, NULL, "SELECT $1", 1, &i4, 0), LOOM_EPG);
    ck_assert_int_eq(loom_pg_query_typed(&c, NULL, "SELECT 1", 0, NULL, 0), 1);
    loom_pg_close(&c);
    return 0;
}

START_TEST(nulls_and_describe) { ck_assert_int_eq(test_run_task(nulls_main, NULL), 0); }
END_TEST

/* --- hostile binary data: no server needed --- */

START_TEST(malformed)
{
    struct loom_pg_cell v = {.type = LOOM_PG_INT4_ARRAY, .binary = true};
    struct loom_pg_array a;
    struct loom_pg_cell e;
    /* one dimension claiming 2^30 elements in 24 bytes */
    char arr[24] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0x40, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4};
    v.data = arr;
    v.len = sizeof arr;
    ck_assert_int_eq(loom_pg_array_open(&v, &a), -EINVAL);
    /* one element whose length runs past the end */
    arr[12] = 0;
    arr[15] = 1;
    ck_assert_int_eq(loom_pg_array_open(&v, &a), 0);
    ck_assert_int_eq(loom_pg_array_next(&a, &e), -EINVAL);
    /* two dimensions: refused */
    arr[3] = 2;
    ck_assert_int_eq(loom_pg_array_open(&v, &a), -EINVAL);
    v.len = 5;
    ck_assert_int_eq(loom_pg_array_open(&v, &a), -EINVAL);
    /* numeric: digits past the length, a digit over 9999, an unknown sign */
    char num[10] = {0, 2, 0, 0, 0, 0, 0, 0, 0, 1};
    struct loom_pg_cell nv = {.type = LOOM_PG_NUMERIC, .binary = true, .data = num, .len = 10};
    char out[32];
    ck_assert_int_eq(loom_pg_cell_numeric(&nv, out, sizeof out), -EINVAL);
    num[1] = 1;
    num[8] = 0x27, num[9] = 0x10; /* 10000 */
    ck_assert_int_eq(loom_pg_cell_numeric(&nv, out, sizeof out), -EINVAL);
    num[8] = 0, num[9] = 7;
    num[4] = 0x12;
    ck_assert_int_eq(loom_pg_cell_numeric(&nv, out, sizeof out), -EINVAL);
    num[4] = 0;
    ck_assert_int_eq(loom_pg_cell_numeric(&nv, out, sizeof out), 0);
    ck_assert_str_eq(out, "7");
    /* fixed-width types with the wrong length */
    struct loom_pg_cell iv = {.type = LOOM_PG_INT8, .binary = true, .data = num, .len = 4};
    int64_t x;
    ck_assert_int_eq(loom_pg_cell_int(&iv, &x), -EINVAL);
    iv.type = LOOM_PG_TIMESTAMP;
    ck_assert_int_eq(loom_pg_cell_timestamp(&iv, &x), -EINVAL);
    iv.type = LOOM_PG_JSONB;
    iv.len = 0;
    const char *p;
    size_t n;
    ck_assert_int_eq(loom_pg_cell_bytes(&iv, &p, &n), -EINVAL);
}
END_TEST

int main(void)
{
    const struct test_pg_case cases[] = {
        {"scalars", scalars, 30},     {"times", times, 30},
        {"arrays", arrays, 30},       {"nulls_and_describe", nulls_and_describe, 30},
        {"malformed", malformed, 30},
    };
    return test_pg_main("pg_types", cases, sizeof cases / sizeof cases[0]);
}
