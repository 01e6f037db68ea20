/* ch05.h - what the chapter-5 listings share: where the database is, the
 * schema of listing 5.2, and asyncpg's way of printing a record. */
#ifndef LOOM_DEMOS_CH05_H
#define LOOM_DEMOS_CH05_H

#include <stdio.h>
#include <stdlib.h>

#include "db/pg.h"
#include "demo.h"

/* The book's server: 127.0.0.1:5432, user postgres / password postgres, db products. */
#define CH05_DEFAULT_DSN "host=127.0.0.1 port=5432 user=postgres password=postgres dbname=products"

/* --dsn, else $LOOM_PG_DSN, else the book's server. */
static inline const char *ch05_dsn(void)
{
    const char *env = getenv("LOOM_PG_DSN");
    return demo_arg_str("--dsn", env && *env ? env : CH05_DEFAULT_DSN);
}

/* Listing 5.2: the product schema and its seed rows, one statement each. */
static const char *const ch05_schema[] = {
    "CREATE TABLE IF NOT EXISTS brand(brand_id SERIAL PRIMARY KEY, brand_name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS product(product_id SERIAL PRIMARY KEY, product_name TEXT NOT "
    "NULL, brand_id INT NOT NULL, FOREIGN KEY (brand_id) REFERENCES brand(brand_id))",
    "CREATE TABLE IF NOT EXISTS product_color(product_color_id SERIAL PRIMARY KEY, "
    "product_color_name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS product_size(product_size_id SERIAL PRIMARY KEY, "
    "product_size_name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sku(sku_id SERIAL PRIMARY KEY, product_id INT NOT NULL, "
    "product_size_id INT NOT NULL, product_color_id INT NOT NULL, "
    "FOREIGN KEY (product_id) REFERENCES product(product_id), "
    "FOREIGN KEY (product_size_id) REFERENCES product_size(product_size_id), "
    "FOREIGN KEY (product_color_id) REFERENCES product_color(product_color_id))",
    "INSERT INTO product_color VALUES(1, 'Blue')",
    "INSERT INTO product_color VALUES(2, 'Black')",
    "INSERT INTO product_size VALUES(1, 'Small')",
    "INSERT INTO product_size VALUES(2, 'Medium')",
    "INSERT INTO product_size VALUES(3, 'Large')",
};
#define CH05_SCHEMA_N (sizeof ch05_schema / sizeof ch05_schema[0])

/* The product-100 join of listings 5.7 and 5.8. */
#define CH05_PRODUCT_QUERY                                                                         \
    "SELECT p.product_id, p.product_name, p.brand_id, s.sku_id, pc.product_color_name, "           \
    "ps.product_size_name FROM product as p "                                                      \
    "JOIN sku as s on s.product_id = p.product_id "                                                \
    "JOIN product_color as pc on pc.product_color_id = s.product_color_id "                        \
    "JOIN product_size as ps on ps.product_size_id = s.product_size_id "                           \
    "WHERE p.product_id = 100"

/* Print row of r as asyncpg prints a Record: <Record a=1 b='text'>. */
static inline void ch05_print_record(const struct loom_pg_result *r, int row)
{
    printf("<Record");
    for (int i = 0; i < loom_pg_ncols(r); i++) {
        const char *v = loom_pg_text(r, row, i);
        char *end;
        (void)strtol(v, &end, 10);
        bool num = *v && !*end; /* asyncpg prints ints bare, text quoted */
        if (loom_pg_isnull(r, row, i))
            printf(" %s=None", loom_pg_colname(r, i));
        else
            printf(num ? " %s=%s" : " %s='%s'", loom_pg_colname(r, i), v);
    }
    printf(">\n");
}

/* Why a call failed, as psql says it: libpq's or the server's own text,
 * else loom's name for the code. */
static inline const char *ch05_why(int rc, const char *msg)
{
    return msg && msg[0] ? msg : loom_strerror(rc);
}

/* Connect or exit with libpq's message on stderr (as psql prints it). Suspends. */
static inline void ch05_connect(struct loom_pg *c, const char *dsn)
{
    int rc = loom_pg_connect(c, dsn, LOOM_SEC(10));
    if (rc < 0) {
        fprintf(stderr, "error: %s\n", ch05_why(rc, loom_pg_errmsg(c)));
        exit(1);
    }
}

/* Exit with the server's message when rc failed. */
#define CH05_CHECK(c, rc)                                                                          \
    do {                                                                                           \
        long ch05_rc_ = (long)(rc);                                                                \
        if (ch05_rc_ < 0) {                                                                        \
            const char *ch05_st_ = loom_pg_sqlstate(c);                                            \
            fprintf(stderr, "%s:%d: %s: ERROR: %s%s%s%s\n", __FILE__, __LINE__, #rc,               \
                    ch05_why((int)ch05_rc_, loom_pg_errmsg(c)), ch05_st_[0] ? " (" : "", ch05_st_, \
                    ch05_st_[0] ? ")" : "");                                                       \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#endif
