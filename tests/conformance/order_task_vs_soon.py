from conf import T, run
import asyncio

async def child(n):
    T("child", n, "step 1")
    await asyncio.sleep(0)
    T("child", n, "step 2")

async def main():
    loop = asyncio.get_running_loop()
    a = asyncio.create_task(child("a"))
    loop.call_soon(T, "soon 1")
    b = asyncio.create_task(child("b"))
    loop.call_soon(T, "soon 2")
    T("main spawned")
    await asyncio.sleep(0)
    T("main resumed")
    await a
    await b
    T("end")

run(main)
