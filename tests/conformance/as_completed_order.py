from conf import T, run
import asyncio

async def w(n, steps):
    for _ in range(steps):
        await asyncio.sleep(0)
    return n

async def main():
    ts = [asyncio.create_task(w(n, s)) for n, s in ((1, 4), (2, 0), (3, 2), (4, 1))]
    for f in asyncio.as_completed(ts):
        T("completed", await f)
    T("end")

run(main)
