from conf import T, run, outcome
import asyncio

async def inner():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        T("inner cleanup starts")
        await asyncio.sleep(0.01)
        await asyncio.sleep(0)
        T("inner cleanup done")
        raise

async def main():
    T("wait_for", await outcome(asyncio.wait_for(inner(), 0.01)))
    T("end")

run(main)
