from conf import T, run, outcome
import asyncio

async def main():
    e = asyncio.Event()
    async def w():
        await e.wait()
        return 1
    T("wait", await outcome(asyncio.wait_for(w(), 0.01)))
    asyncio.get_running_loop().call_later(0.005, e.set)
    T("wait", await outcome(asyncio.wait_for(w(), 5)))

run(main)
