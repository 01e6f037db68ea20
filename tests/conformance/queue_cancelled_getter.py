from conf import T, run, outcome
import asyncio

async def getter(q, n):
    try:
        x = await q.get()
    except asyncio.CancelledError:
        T("getter", n, "cancelled")
        raise
    T("getter", n, "got", x)
    return n

async def main():
    q = asyncio.Queue()
    ts = [asyncio.create_task(getter(q, n)) for n in range(3)]
    await asyncio.sleep(0)
    ts[1].cancel()
    await asyncio.sleep(0)
    q.put_nowait(10)
    q.put_nowait(11)
    for t in ts:
        T("join", await outcome(t))
    T("left", q.qsize())

run(main)
