from conf import T, run
import asyncio

async def main():
    loop = asyncio.get_running_loop()
    loop.call_later(0, T, "later0 A")
    loop.call_soon(T, "soon B")
    await asyncio.sleep(0.01)
    T("end")

run(main)
