from conf import T, run
import asyncio

async def w(n, steps):
    for _ in range(steps):
        await asyncio.sleep(0)
    T("w", n, "done")
    return n * 10

async def main():
    r = await asyncio.gather(w(1, 3), w(2, 0), w(3, 1))
    T("gather", *r)

run(main)
