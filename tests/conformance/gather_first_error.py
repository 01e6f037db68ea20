from conf import T, run, outcome, Fail
import asyncio

async def w(n, steps, fail):
    for _ in range(steps):
        await asyncio.sleep(0)
    if fail:
        T("w", n, "fails")
        raise Fail()
    T("w", n, "done")
    return n

async def main():
    ts = [asyncio.create_task(w(1, 3, False)), asyncio.create_task(w(2, 1, True)),
          asyncio.create_task(w(3, 2, True))]
    T("gather", await outcome(asyncio.gather(*ts)))
    T("others running", [t.done() for t in ts])
    await asyncio.sleep(0.01)
    T("later", [t.done() for t in ts])

run(main)
