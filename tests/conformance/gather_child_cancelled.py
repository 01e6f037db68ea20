from conf import T, run, outcome
import asyncio

async def w(n):
    await asyncio.sleep(0.01 * n)
    T("w", n, "done")
    return n

async def main():
    ts = [asyncio.create_task(w(n)) for n in (1, 2, 3)]
    await asyncio.sleep(0)
    ts[1].cancel()
    T("gather", await outcome(asyncio.gather(*ts)))
    await asyncio.sleep(0.05)
    T("states", *[t.done() for t in ts])

run(main)
