from conf import T, run, outcome
import asyncio

async def inner():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        T("inner swallows")
    return 5

async def outer():
    i = asyncio.create_task(inner())
    await asyncio.sleep(0)
    r = await outcome(i)
    T("outer got", r)
    return 1

async def main():
    o = asyncio.create_task(outer())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    o.cancel()
    T("main join", await outcome(o))

run(main)
