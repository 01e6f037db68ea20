#!/usr/bin/python3
"""pg_py.py - the workloads of pg_loom.c with asyncpg on uvloop (the peer).

    pg_py.py MODE N     prints "MODE N SECONDS"; DSN from $LOOM_PG_DSN
"""
import asyncio
import os
import sys
import time

import asyncpg
import uvloop

PK = "SELECT product_id, product_name FROM product WHERE product_id = $1"
JOIN = ("SELECT p.product_id, p.product_name, p.brand_id, s.sku_id, pc.product_color_name, "
        "ps.product_size_name FROM product as p JOIN sku as s on s.product_id = p.product_id "
        "JOIN product_color as pc on pc.product_color_id = s.product_color_id "
        "JOIN product_size as ps on ps.product_size_id = s.product_size_id "
        "WHERE p.product_id = $1")
INS = "INSERT INTO bench_ins VALUES($1, $2)"
TYPED = "SELECT * FROM bench_typed"  # made by pg_run


def dsn_kwargs():
    kw = dict(p.split("=", 1) for p in os.environ["LOOM_PG_DSN"].split())
    return dict(host=kw.get("host"), port=int(kw.get("port", 5432)), user=kw.get("user"),
                password=kw.get("password"), database=kw.get("dbname"))


async def main(mode, n):
    kind = mode.split("_", 1)[1]
    mix = mode == "mix_poolq"
    sql = PK if mode.startswith("select") or mix else JOIN if mode.startswith("join") else None
    conn = await asyncpg.connect(**dsn_kwargs())
    if sql is None or mix:
        await conn.execute("TRUNCATE bench_ins")
    t0 = time.monotonic()
    if mode == "typed_decode":
        for _ in range(n // 1000):
            for r in await conn.fetch(TYPED):  # asyncpg decodes in fetch; touch each value
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
    elif mode == "copy_out":
        rows = 0

        async def sink(data):
            nonlocal rows
            rows += data.count(b"\n")
        await conn.copy_from_query(
            f"SELECT g, 'row ' || g, g * 1.5 FROM generate_series(1, {n}) g", output=sink)
        assert rows == n, rows
    elif kind == "one" and sql:
        for i in range(n):
            await conn.fetch(sql, i % 1000 + 1)
    elif kind == "one":
        for i in range(n):
            await conn.execute(INS, i % 1000 + 1, f"row-{i}")
    elif kind == "pipe":
        args = [(i % 1000 + 1,) for i in range(n)] if sql else \
               [(i % 1000 + 1, f"row-{i}") for i in range(n)]
        await conn.executemany(sql or INS, args)
    elif kind == "copy":
        await conn.copy_records_to_table(
            "bench_ins", records=((i % 1000 + 1, f"row-{i}") for i in range(n)))
    elif kind in ("pool", "poolq") or mix:
        pool = await asyncpg.create_pool(min_size=10, max_size=10, **dsn_kwargs())
        counter = iter(range(n))

        async def worker():
            for i in counter:
                if mix and i % 2:
                    await pool.execute(INS, i % 1000 + 1, f"row-{i}")
                else:
                    await pool.fetch(sql, i % 1000 + 1)
        await asyncio.gather(*(worker() for _ in range(100)))
        await pool.close()
    print(f"{mode} {n} {time.monotonic() - t0:.6f}")
    await conn.close()


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
