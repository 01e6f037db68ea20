from conf import T, run, outcome
import asyncio

async def inner():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        T("inner cancelled")
        raise

async def outer():
    i = asyncio.create_task(inner())
    T("outer awaits inner")
    r = await outcome(i)
    T("outer got", r, "inner cancelled", i.cancelled())
    raise asyncio.CancelledError

async def main():
    o = asyncio.create_task(outer())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    o.cancel()
    T("main join", await outcome(o))

run(main)
