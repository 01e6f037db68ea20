from conf import T, run
import asyncio

async def getter(q, n):
    T("getter", n, "got", await q.get())

async def main():
    q = asyncio.Queue()
    ts = [asyncio.create_task(getter(q, n)) for n in range(3)]
    await asyncio.sleep(0)
    for x in "abc":
        q.put_nowait(x)
    T("put three; size", q.qsize())
    for t in ts:
        await t
    T("end")

run(main)
