from conf import T, run, outcome
import asyncio

async def inner():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        T("inner cancelled")
        raise

async def caller():
    T("caller", await outcome(asyncio.wait_for(inner(), 5)))
    raise asyncio.CancelledError

async def main():
    c = asyncio.create_task(caller())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    c.cancel()
    T("join", await outcome(c))

run(main)
