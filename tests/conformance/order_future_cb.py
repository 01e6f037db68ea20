from conf import T, run
import asyncio

async def waiter(f):
    T("waiter got", await f)

async def main():
    loop = asyncio.get_running_loop()
    f = loop.create_future()
    w = asyncio.create_task(waiter(f))
    await asyncio.sleep(0)
    f.add_done_callback(lambda _: T("cb 1"))
    f.add_done_callback(lambda _: T("cb 2"))
    loop.call_soon(T, "soon before")
    f.set_result(7)
    loop.call_soon(T, "soon after")
    T("main set")
    await asyncio.sleep(0)
    T("main resumed")
    await w
    T("end")

run(main)
