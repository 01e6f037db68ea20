from conf import T, run, Fail
import asyncio

async def doomed():
    await asyncio.sleep(0)
    T("doomed fails")
    raise Fail()

def handler(loop, ctx):
    T("handler:", ctx["message"], ctx["future"].get_name())

async def main():
    asyncio.get_running_loop().set_exception_handler(handler)
    asyncio.create_task(doomed(), name="doomed")
    for _ in range(3):
        await asyncio.sleep(0)
    T("main ends")

run(main)
