from conf import T, run, outcome
import asyncio

async def w(n, delay):
    await asyncio.sleep(delay)
    return n

async def main():
    ts = [asyncio.create_task(w(1, 10)), asyncio.create_task(w(2, 0)),
          asyncio.create_task(w(3, 10))]
    for f in asyncio.as_completed(ts, timeout=0.02):
        T("next", await outcome(f))
    T("still pending", [t.done() for t in ts])
    for t in ts:
        t.cancel()

run(main)
