from conf import T, run
import asyncio

async def main():
    loop = asyncio.get_running_loop()
    for n in "ABC":
        loop.call_soon(T, "soon", n)
    await asyncio.sleep(0)
    T("main after sleep0")
    await asyncio.sleep(0)
    T("end")

run(main)
