from conf import T, run, outcome
import asyncio

async def waiter(l, n):
    try:
        await l.acquire()
    except asyncio.CancelledError:
        T("waiter", n, "cancelled")
        raise
    T("waiter", n, "holds")
    l.release()
    return n

async def main():
    l = asyncio.Lock()
    await l.acquire()
    ts = [asyncio.create_task(waiter(l, n)) for n in range(3)]
    await asyncio.sleep(0)
    ts[0].cancel()
    await asyncio.sleep(0)
    l.release()
    for t in ts:
        T("join", await outcome(t))
    T("locked", l.locked())

run(main)
