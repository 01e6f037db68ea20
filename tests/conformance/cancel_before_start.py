from conf import T, run, outcome
import asyncio

async def child():
    T("child ran")
    return 1

async def main():
    t = asyncio.create_task(child())
    T("cancel", t.cancel())
    T("join", await outcome(t))
    T("cancelled", t.cancelled())

run(main)
