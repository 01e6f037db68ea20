from conf import T, run
import asyncio

async def putter(q, n):
    T("putter", n, "waits")
    await q.put(n)
    T("putter", n, "put")

async def main():
    q = asyncio.Queue(1)
    q.put_nowait(0)
    ts = [asyncio.create_task(putter(q, n)) for n in (1, 2, 3)]
    await asyncio.sleep(0)
    for _ in range(4):
        T("get", await q.get())
        await asyncio.sleep(0)
    for t in ts:
        await t
    T("empty", q.empty())

run(main)
