from conf import T, run, Fail
import asyncio

async def w(n, steps, fail):
    for _ in range(steps):
        await asyncio.sleep(0)
    T("w", n, "ends")
    if fail:
        raise Fail()
    return n

async def main():
    r = await asyncio.gather(w(1, 2, False), w(2, 0, True), w(3, 1, False),
                             return_exceptions=True)
    T("gather", *["error" if isinstance(x, Exception) else "ok %d" % x for x in r])

run(main)
