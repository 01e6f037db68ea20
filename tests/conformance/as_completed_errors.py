from conf import T, run, outcome, Fail
import asyncio

async def w(n, delay, fail):
    await asyncio.sleep(delay)
    if fail:
        raise Fail()
    return n

async def main():
    ts = [asyncio.create_task(w(1, 0.03, False)), asyncio.create_task(w(2, 0.01, True)),
          asyncio.create_task(w(3, 0.02, False))]
    for f in asyncio.as_completed(ts):
        T("next", await outcome(f))

run(main)
