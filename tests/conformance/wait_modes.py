from conf import T, run, Fail
import asyncio

async def w(n, steps, fail=False):
    for _ in range(steps):
        await asyncio.sleep(0)
    if fail:
        raise Fail()
    return n

def names(ts, order):
    return sorted(order.index(t) + 1 for t in ts)

async def one(mode, fail):
    ts = [asyncio.create_task(w(1, 10)), asyncio.create_task(w(2, 1, fail)),
          asyncio.create_task(w(3, 10))]
    done, pending = await asyncio.wait(ts, return_when=mode)
    T(mode, "done", *names(done, ts), "pending", *names(pending, ts))
    await asyncio.wait(ts)
    for t in ts:
        t.exception()

async def main():
    await one(asyncio.FIRST_COMPLETED, False)
    await one(asyncio.FIRST_EXCEPTION, False)
    await one(asyncio.FIRST_EXCEPTION, True)
    await one(asyncio.ALL_COMPLETED, True)

run(main)
