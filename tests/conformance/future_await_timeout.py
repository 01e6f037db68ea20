from conf import T, run, outcome
import asyncio

async def main():
    f = asyncio.get_running_loop().create_future()
    T("await", await outcome(asyncio.wait_for(f, 0.01)))
    T("future cancelled", f.cancelled())

run(main)
