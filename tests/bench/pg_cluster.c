/* pg_cluster.c - run a command against a throwaway cluster (tests/harness/pg)
 * filled with the chapter-5 data for benchmarks: 100 brands, 1,000 products,
 * 100,000 SKUs, an index on sku.product_id, and table bench_ins.
 *
 *   pg_cluster COMMAND...   ($LOOM_PG_DSN and $LOOM_PG_DATADIR are set for it) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness/pg.h"

static const char data_sql[] =
    "INSERT INTO brand(brand_name) SELECT 'brand ' || g FROM generate_series(3, 100) g;"
    "INSERT INTO product(product_name, brand_id) SELECT 'product ' || g, g % 100 + 1"
    " FROM generate_series(5, 1000) g;"
    "INSERT INTO sku(product_id, product_size_id, product_color_id)"
    " SELECT g % 1000 + 1, g % 3 + 1, g % 2 + 1 FROM generate_series(1, 100000) g;"
    "CREATE INDEX ON sku(product_id);"
    "CREATE TABLE bench_ins(a int, b text);"
    "VACUUM ANALYZE;";

int main(int argc, char **argv)
{
    if (argc < 2 || test_pg_start() < 0 || test_pg_psql("products", data_sql) < 0)
        return 1;
    setenv("LOOM_PG_DATADIR", test_pg_datadir(), 1);
    char cmd[4096] = "";
    for (int i = 1; i < argc; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "%s'%s'", i > 1 ? " " : "", argv[i]);
    int st = system(cmd);
    test_pg_stop();
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
