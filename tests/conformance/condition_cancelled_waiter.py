from conf import T, run, outcome
import asyncio

async def waiter(c, n):
    async with c:
        try:
            await c.wait()
        except asyncio.CancelledError:
            T("waiter", n, "cancelled, holds lock", c.locked())
            raise
        T("waiter", n, "notified")
    return n

async def main():
    c = asyncio.Condition()
    ts = [asyncio.create_task(waiter(c, n)) for n in range(3)]
    await asyncio.sleep(0)
    ts[0].cancel()
    async with c:
        T("notify 1 ->", c.notify(1))
    for t in ts[:2]:
        T("join", await outcome(t))
    async with c:
        c.notify_all()
    T("join", await outcome(ts[2]))

run(main)
