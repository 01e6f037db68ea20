from conf import T, run
import asyncio

async def child(n):
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        T("child", n, "cancelled at teardown")
        await asyncio.sleep(0)
        T("child", n, "cleanup done")
        raise

async def main():
    asyncio.create_task(child(1))
    await asyncio.sleep(0)
    T("main returns")

run(main)
T("after run")
