/* pg_types.c - typed parameters and results: PostgreSQL's binary formats
 * (big-endian integers, IEEE floats, base-10000 numeric, microsecond
 * timestamps from 2000-01-01, arrays with a dimension header) encoded and
 * decoded by hand. Every length read from the server is checked before use. */
#include "db/pg_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- big-endian helpers --- */

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const char *s) { return (uint64_t)get32(s) << 32 | get32(s + 4); }

/* --- parameters --- */

static struct loom_pg_param bin(uint32_t type, int32_t len)
{
    struct loom_pg_param p = {.type = type, .len = len};
    return p;
}

struct loom_pg_param loom_pg_p_null(void) { return bin(0, -1); }

struct loom_pg_param loom_pg_p_bool(bool v)
{
    struct loom_pg_param p = bin(LOOM_PG_BOOL, 1);
    p._inline[0] = v;
    return p;
}

struct loom_pg_param loom_pg_p_int2(int16_t v)
{
    struct loom_pg_param p = bin(LOOM_PG_INT2, 2);
    p._inline[0] = (unsigned char)((uint16_t)v >> 8);
    p._inline[1] = (unsigned char)v;
    return p;
}

struct loom_pg_param loom_pg_p_int4(int32_t v)
{
    struct loom_pg_param p = bin(LOOM_PG_INT4, 4);
    put32(p._inline, (uint32_t)v);
    return p;
}

static struct loom_pg_param i64(uint32_t type, int64_t v)
{
    struct loom_pg_param p = bin(type, 8);
    put64(p._inline, (uint64_t)v);
    return p;
}

struct loom_pg_param loom_pg_p_int8(int64_t v) { return i64(LOOM_PG_INT8, v); }
struct loom_pg_param loom_pg_p_time(int64_t us) { return i64(LOOM_PG_TIME, us); }
struct loom_pg_param loom_pg_p_timestamp(int64_t us) { return i64(LOOM_PG_TIMESTAMP, us); }
struct loom_pg_param loom_pg_p_timestamptz(int64_t us) { return i64(LOOM_PG_TIMESTAMPTZ, us); }

struct loom_pg_param loom_pg_p_date(int32_t days)
{
    struct loom_pg_param p = loom_pg_p_int4(days);
    p.type = LOOM_PG_DATE;
    return p;
}

struct loom_pg_param loom_pg_p_float4(float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    struct loom_pg_param p = loom_pg_p_int4((int32_t)u);
    p.type = LOOM_PG_FLOAT4;
    return p;
}

struct loom_pg_param loom_pg_p_float8(double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return i64(LOOM_PG_FLOAT8, (int64_t)u);
}

struct loom_pg_param loom_pg_p_interval(struct loom_pg_interval v)
{
    struct loom_pg_param p = bin(LOOM_PG_INTERVAL, 16);
    put64(p._inline, (uint64_t)v.us);
    put32(p._inline + 8, (uint32_t)v.days);
    put32(p._inline + 12, (uint32_t)v.months);
    return p;
}

struct loom_pg_param loom_pg_p_uuid(const uint8_t v[16])
{
    struct loom_pg_param p = bin(LOOM_PG_UUID, 16);
    memcpy(p._inline, v, 16);
    return p;
}

static struct loom_pg_param ext(uint32_t type, const void *v, size_t len, bool text)
{
    struct loom_pg_param p = {.type = type, .text = text};
    if (!v) {
        p.len = -1;
    } else if (len > INT32_MAX) {
        p.len = -2; /* refused at query time */
    } else {
        p.len = (int32_t)len;
        p.data = len ? v : "";
    }
    return p;
}

struct loom_pg_param loom_pg_p_text(const char *v, size_t len)
{
    return ext(LOOM_PG_TEXT, v, len, true);
}

struct loom_pg_param loom_pg_p_bytea(const void *v, size_t len)
{
    return ext(LOOM_PG_BYTEA, v, len, false);
}

struct loom_pg_param loom_pg_p_numeric(const char *v)
{
    return ext(LOOM_PG_NUMERIC, v, v ? strlen(v) : 0, true);
}

struct loom_pg_param loom_pg_p_json(const char *v)
{
    return ext(LOOM_PG_JSON, v, v ? strlen(v) : 0, true);
}

struct loom_pg_param loom_pg_p_jsonb(const char *v)
{
    return ext(LOOM_PG_JSONB, v, v ? strlen(v) : 0, true);
}

static const char *param_data(const struct loom_pg_param *p)
{
    return p->data ? p->data : (const char *)p->_inline;
}

/* Whether a parameter can go on the wire: text must hold no NUL (the server
 * refuses it, and a C string would cut it). */
static bool param_ok(const struct loom_pg_param *p)
{
    if (p->len < -1)
        return false;
    return !(p->text && p->len > 0 && memchr(param_data(p), 0, (size_t)p->len));
}

/* Elements a binary array may hold: binary values, or text whose binary form
 * is its text (numeric and jsonb differ, so they are refused). */
static bool elem_ok(const struct loom_pg_param *e, uint32_t type)
{
    if (e->len == -1)
        return true;
    if (!param_ok(e) || (type && e->type != type))
        return false;
    return !e->text || e->type == LOOM_PG_TEXT || e->type == LOOM_PG_VARCHAR ||
           e->type == LOOM_PG_JSON;
}

struct loom_pg_param loom_pg_p_array(uint32_t array_type, int n, const struct loom_pg_param *elems,
                                     void *buf, size_t cap)
{
    struct loom_pg_param bad = {.type = array_type, .len = -2};
    if (n < 0)
        return bad;
    uint32_t et = 0;
    size_t need = n ? 20 : 12;
    bool nulls = false;
    for (int i = 0; i < n; i++) {
        if (elems[i].len >= 0 && !et)
            et = elems[i].type;
        if (!elem_ok(&elems[i], et))
            return bad;
        nulls |= elems[i].len == -1;
        need += 4 + (elems[i].len > 0 ? (size_t)elems[i].len : 0);
    }
    if (need > cap || need > INT32_MAX)
        return bad;
    if (!et) /* all NULL: the element type follows from the array type */
        et = LOOM_PG_TEXT;
    unsigned char *p = buf;
    put32(p, n ? 1 : 0);
    put32(p + 4, nulls);
    put32(p + 8, et);
    p += 12;
    if (n) {
        put32(p, (uint32_t)n);
        put32(p + 4, 1); /* lower bound */
        p += 8;
    }
    for (int i = 0; i < n; i++) {
        put32(p, (uint32_t)elems[i].len);
        p += 4;
        if (elems[i].len > 0) {
            memcpy(p, param_data(&elems[i]), (size_t)elems[i].len);
            p += elems[i].len;
        }
    }
    struct loom_pg_param a = {.type = array_type, .len = (int32_t)need, .data = buf};
    return a;
}

/* Types whose binary form is their text: sent binary, so the length counts
 * (libpq takes a text-format parameter to its NUL, ignoring the length). */
static bool text_is_binary(uint32_t type)
{
    return type == LOOM_PG_TEXT || type == LOOM_PG_VARCHAR || type == LOOM_PG_JSON ||
           type == LOOM_PG_NAME;
}

ssize_t loom_pg_query_typed(struct loom_pg *c, struct loom_pg_result *r, const char *sql,
                            int nparams, const struct loom_pg_param *params, unsigned flags)
{
    if (nparams < 0 || nparams > 65535)
        return -EINVAL;
    for (int i = 0; i < nparams; i++)
        if (!param_ok(&params[i]))
            return loom__pg_set_error(c, -EINVAL, "22021",
                                      "invalid parameter (NUL in text, or a failed array)");
    ssize_t rc = loom__pg_begin_op(c);
    if (rc < 0)
        return rc;
    enum { STACK = 32 };
    Oid st_types[STACK];
    const char *st_vals[STACK];
    int st_lens[STACK], st_fmts[STACK];
    Oid *types = st_types;
    const char **vals = st_vals;
    int *lens = st_lens, *fmts = st_fmts;
    void *heap = NULL;
    if (nparams > STACK) {
        size_t n = (size_t)nparams;
        heap = malloc(n * (sizeof *types + sizeof *vals + sizeof *lens + sizeof *fmts));
        if (!heap)
            return loom__pg_end_op(c, -ENOMEM);
        vals = heap;
        types = (Oid *)(vals + n);
        lens = (int *)(types + n);
        fmts = lens + n;
    }
    for (int i = 0; i < nparams; i++) {
        const struct loom_pg_param *p = &params[i];
        types[i] = p->type;
        vals[i] = p->len < 0 ? NULL : param_data(p);
        lens[i] = p->len < 0 ? 0 : p->len;
        fmts[i] = !p->text || text_is_binary(p->type); /* libpq strlen()s text params */
    }
    if (!PQsendQueryParams(c->_pg, sql, nparams, types, vals, lens, fmts,
                           (flags & LOOM_PG_BINARY_RESULTS) ? 1 : 0))
        rc = loom__pg_conn_error(c);
    else
        rc = loom__pg_collect(c, r);
    free(heap);
    return loom__pg_end_op(c, rc);
}

/* --- introspection --- */

int loom_pg_describe(struct loom_pg *c, struct loom_pg_result *r, const char *sql)
{
    ssize_t rc = loom__pg_begin_op(c);
    if (rc < 0)
        return (int)rc;
    if (!PQsendPrepare(c->_pg, "", sql, 0, NULL))
        rc = loom__pg_conn_error(c);
    else
        rc = loom__pg_collect(c, NULL);
    if (rc >= 0) {
        if (!PQsendDescribePrepared(c->_pg, ""))
            rc = loom__pg_conn_error(c);
        else
            rc = loom__pg_collect(c, r);
    }
    return (int)loom__pg_end_op(c, rc < 0 ? rc : 0);
}

int loom_pg_nparams(const struct loom_pg_result *r) { return r->_res ? PQnparams(r->_res) : 0; }

uint32_t loom_pg_paramtype(const struct loom_pg_result *r, int i)
{
    return r->_res && i >= 0 && i < PQnparams(r->_res) ? PQparamtype(r->_res, i) : 0;
}

uint32_t loom_pg_coltype(const struct loom_pg_result *r, int col)
{
    return r->_res && col >= 0 && col < PQnfields(r->_res) ? PQftype(r->_res, col) : 0;
}

bool loom_pg_colbinary(const struct loom_pg_result *r, int col)
{
    return r->_res && col >= 0 && col < PQnfields(r->_res) && PQfformat(r->_res, col) == 1;
}

/* --- decoding --- */

int loom_pg_cell(const struct loom_pg_result *r, int row, int col, struct loom_pg_cell *out)
{
    if (!r->_res || row < 0 || row >= PQntuples(r->_res) || col < 0 || col >= PQnfields(r->_res))
        return -EINVAL;
    out->type = PQftype(r->_res, col);
    out->binary = PQfformat(r->_res, col) == 1;
    out->null = PQgetisnull(r->_res, row, col);
    out->len = out->null ? 0 : PQgetlength(r->_res, row, col);
    out->data = out->null ? NULL : PQgetvalue(r->_res, row, col);
    return 0;
}

/* Common checks: NULL, the type among allowed ones, binary length. */
static int check(const struct loom_pg_cell *v, uint32_t t1, uint32_t t2, int binlen)
{
    if (v->null)
        return -ENODATA;
    if (v->type != t1 && v->type != t2)
        return -EINVAL;
    if (v->binary && binlen >= 0 && v->len != binlen)
        return -EINVAL;
    return 0;
}

int loom_pg_cell_bool(const struct loom_pg_cell *v, bool *out)
{
    int rc = check(v, LOOM_PG_BOOL, LOOM_PG_BOOL, 1);
    if (rc < 0)
        return rc;
    if (v->binary)
        *out = v->data[0] != 0;
    else if (v->len == 1 && (v->data[0] == 't' || v->data[0] == 'f'))
        *out = v->data[0] == 't';
    else
        return -EINVAL;
    return 0;
}

int loom_pg_cell_int(const struct loom_pg_cell *v, int64_t *out)
{
    if (v->null)
        return -ENODATA;
    if (!v->binary) {
        if (v->type != LOOM_PG_INT2 && v->type != LOOM_PG_INT4 && v->type != LOOM_PG_INT8)
            return -EINVAL;
        char *end;
        errno = 0;
        long long x = strtoll(v->data, &end, 10);
        if (errno || end == v->data || *end)
            return -EINVAL;
        *out = x;
        return 0;
    }
    if (v->type == LOOM_PG_INT2 && v->len == 2)
        *out = (int16_t)get16(v->data);
    else if (v->type == LOOM_PG_INT4 && v->len == 4)
        *out = (int32_t)get32(v->data);
    else if (v->type == LOOM_PG_INT8 && v->len == 8)
        *out = (int64_t)get64(v->data);
    else
        return -EINVAL;
    return 0;
}

int loom_pg_cell_float(const struct loom_pg_cell *v, double *out)
{
    int rc = check(v, LOOM_PG_FLOAT4, LOOM_PG_FLOAT8, -1);
    if (rc < 0)
        return rc;
    if (!v->binary) {
        char *end;
        *out = strtod(v->data, &end);
        return end == v->data || *end ? -EINVAL : 0;
    }
    if (v->type == LOOM_PG_FLOAT4 && v->len == 4) {
        uint32_t u = get32(v->data);
        float f;
        memcpy(&f, &u, 4);
        *out = f;
    } else if (v->type == LOOM_PG_FLOAT8 && v->len == 8) {
        uint64_t u = get64(v->data);
        memcpy(out, &u, 8);
    } else {
        return -EINVAL;
    }
    return 0;
}

/* Append s to buf at *at; false when it does not fit (with the NUL). */
static bool app(char *buf, size_t cap, size_t *at, const char *s, size_t n)
{
    if (*at + n >= cap)
        return false;
    memcpy(buf + *at, s, n);
    *at += n;
    buf[*at] = 0;
    return true;
}

/* The 4 decimal digits of a base-10000 digit into g; returns how many to
 * keep: all 4, or (lead) without leading zeros (snprintf costs 10x this). */
static size_t digits4(char g[4], int dig, bool lead)
{
    for (int i = 3; i >= 0; i--, dig /= 10)
        g[i] = (char)('0' + dig % 10);
    size_t skip = 0;
    while (lead && skip < 3 && g[skip] == '0')
        skip++;
    if (skip)
        memmove(g, g + skip, 4 - skip);
    return 4 - skip;
}

/* Binary numeric: ndigits, weight, sign, dscale (16 bits each), then
 * ndigits base-10000 digits; digit k stands for 10000^(weight - k). */
static int numeric_text(const char *d, int32_t len, char *buf, size_t cap)
{
    if (len < 8)
        return -EINVAL;
    int nd = (int16_t)get16(d), weight = (int16_t)get16(d + 2);
    unsigned sign = get16(d + 4);
    int dscale = (int16_t)get16(d + 6);
    if (nd < 0 || dscale < 0 || len != 8 + 2 * nd)
        return -EINVAL;
    const char *special = sign == 0xC000   ? "NaN"
                          : sign == 0xD000 ? "Infinity"
                          : sign == 0xF000 ? "-Infinity"
                                           : NULL;
    size_t at = 0;
    if (cap)
        buf[0] = 0;
    if (special)
        return app(buf, cap, &at, special, strlen(special)) ? 0 : -ENOSPC;
    if (sign != 0 && sign != 0x4000)
        return -EINVAL;
    char g[4];
    if (sign == 0x4000 && !app(buf, cap, &at, "-", 1))
        return -ENOSPC;
    if (weight < 0 && !app(buf, cap, &at, "0", 1))
        return -ENOSPC;
    for (int w = weight, k = 0; w >= 0; w--, k++) {
        int dig = k < nd ? get16(d + 8 + 2 * k) : 0;
        if (dig > 9999)
            return -EINVAL;
        size_t n = digits4(g, dig, k == 0);
        if (!app(buf, cap, &at, g, n))
            return -ENOSPC;
    }
    if (dscale > 0 && !app(buf, cap, &at, ".", 1))
        return -ENOSPC;
    for (int k = weight + 1, left = dscale; left > 0; k++) {
        int dig = k >= 0 && k < nd ? get16(d + 8 + 2 * k) : 0;
        if (dig > 9999)
            return -EINVAL;
        digits4(g, dig, false);
        size_t n = left < 4 ? (size_t)left : 4;
        if (!app(buf, cap, &at, g, n))
            return -ENOSPC;
        left -= (int)n;
    }
    return 0;
}

int loom_pg_cell_numeric(const struct loom_pg_cell *v, char *buf, size_t cap)
{
    int rc = check(v, LOOM_PG_NUMERIC, LOOM_PG_NUMERIC, -1);
    if (rc < 0)
        return rc;
    if (v->binary)
        return numeric_text(v->data, v->len, buf, cap);
    size_t at = 0;
    if (cap)
        buf[0] = 0;
    return app(buf, cap, &at, v->data, (size_t)v->len) ? 0 : -ENOSPC;
}

int loom_pg_cell_bytes(const struct loom_pg_cell *v, const char **p, size_t *len)
{
    if (v->null)
        return -ENODATA;
    switch (v->type) {
    case LOOM_PG_TEXT:
    case LOOM_PG_VARCHAR:
    case LOOM_PG_NAME:
    case LOOM_PG_JSON:
        break;
    case LOOM_PG_JSONB:
        if (v->binary) { /* a version byte, 1, then the text */
            if (v->len < 1 || v->data[0] != 1)
                return -EINVAL;
            *p = v->data + 1;
            *len = (size_t)v->len - 1;
            return 0;
        }
        break;
    case LOOM_PG_BYTEA:
        if (!v->binary)
            return -EINVAL; /* text results escape bytea: ask for binary */
        break;
    default:
        return -EINVAL;
    }
    *p = v->data;
    *len = (size_t)v->len;
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int loom_pg_cell_uuid(const struct loom_pg_cell *v, uint8_t out[16])
{
    int rc = check(v, LOOM_PG_UUID, LOOM_PG_UUID, 16);
    if (rc < 0)
        return rc;
    if (v->binary) {
        memcpy(out, v->data, 16);
        return 0;
    }
    int n = 0;
    for (const char *s = v->data; *s; s++) {
        if (*s == '-')
            continue;
        int hi = hexval(s[0]), lo = s[1] ? hexval(s[1]) : -1;
        if (hi < 0 || lo < 0 || n == 16)
            return -EINVAL;
        out[n++] = (uint8_t)(hi << 4 | lo);
        s++;
    }
    return n == 16 ? 0 : -EINVAL;
}

/* The time types are decoded from binary only: their text depends on DateStyle. */
static int bin_only(const struct loom_pg_cell *v, uint32_t t1, uint32_t t2, int len)
{
    int rc = check(v, t1, t2, len);
    return rc < 0 ? rc : v->binary ? 0 : -EINVAL;
}

int loom_pg_cell_date(const struct loom_pg_cell *v, int32_t *days)
{
    int rc = bin_only(v, LOOM_PG_DATE, LOOM_PG_DATE, 4);
    if (rc == 0)
        *days = (int32_t)get32(v->data);
    return rc;
}

int loom_pg_cell_time(const struct loom_pg_cell *v, int64_t *us)
{
    int rc = bin_only(v, LOOM_PG_TIME, LOOM_PG_TIME, 8);
    if (rc == 0)
        *us = (int64_t)get64(v->data);
    return rc;
}

int loom_pg_cell_timestamp(const struct loom_pg_cell *v, int64_t *us)
{
    int rc = bin_only(v, LOOM_PG_TIMESTAMP, LOOM_PG_TIMESTAMPTZ, 8);
    if (rc == 0)
        *us = (int64_t)get64(v->data);
    return rc;
}

int loom_pg_cell_interval(const struct loom_pg_cell *v, struct loom_pg_interval *out)
{
    int rc = bin_only(v, LOOM_PG_INTERVAL, LOOM_PG_INTERVAL, 16);
    if (rc == 0) {
        out->us = (int64_t)get64(v->data);
        out->days = (int32_t)get32(v->data + 8);
        out->months = (int32_t)get32(v->data + 12);
    }
    return rc;
}

/* --- arrays: ndim, has-nulls, element type, then per dimension (size,
 * lower bound), then each element as a 32-bit length (-1: NULL) and bytes --- */

int loom_pg_array_open(const struct loom_pg_cell *v, struct loom_pg_array *a)
{
    if (v->null)
        return -ENODATA;
    if (!v->binary || v->len < 12)
        return -EINVAL;
    int32_t ndim = (int32_t)get32(v->data);
    a->elem_type = get32(v->data + 8);
    a->_i = 0;
    a->_end = v->data + v->len;
    if (ndim == 0) {
        a->n = 0;
        a->_p = v->data + 12;
        return 0;
    }
    if (ndim != 1 || v->len < 20)
        return -EINVAL;
    int32_t n = (int32_t)get32(v->data + 12);
    if (n < 0 || (int64_t)n * 4 > v->len - 20)
        return -EINVAL;
    a->n = n;
    a->_p = v->data + 20;
    return 0;
}

int loom_pg_array_next(struct loom_pg_array *a, struct loom_pg_cell *out)
{
    if (a->_i >= a->n)
        return 0;
    if (a->_end - a->_p < 4)
        return -EINVAL;
    int32_t len = (int32_t)get32(a->_p);
    a->_p += 4;
    if (len < -1 || len > a->_end - a->_p)
        return -EINVAL;
    out->type = a->elem_type;
    out->binary = true;
    out->null = len == -1;
    out->len = len < 0 ? 0 : len;
    out->data = len < 0 ? NULL : a->_p;
    if (len > 0)
        a->_p += len;
    a->_i++;
    return 1;
}
