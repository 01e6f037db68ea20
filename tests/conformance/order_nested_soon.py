from conf import T, run
import asyncio

async def main():
    loop = asyncio.get_running_loop()
    def a():
        T("A")
        loop.call_soon(T, "C (from A)")
    loop.call_soon(a)
    loop.call_soon(T, "B")
    await asyncio.sleep(0)
    T("main 1")
    await asyncio.sleep(0)
    T("main 2")

run(main)
