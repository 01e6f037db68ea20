from conf import T, run, outcome
import asyncio

async def main():
    l = asyncio.Lock()
    await l.acquire()
    async def acq():
        await l.acquire()
        return 0
    T("acquire", await outcome(asyncio.wait_for(acq(), 0.01)))
    T("locked", l.locked())
    l.release()
    T("acquire", await outcome(asyncio.wait_for(acq(), 0.01)))
    l.release()

run(main)
