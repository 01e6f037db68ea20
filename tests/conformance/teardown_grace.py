from conf import T, run
import asyncio

async def stubborn():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        T("stubborn ignores the teardown cancellation")
    try:
        for _ in range(10):
            await asyncio.sleep(0.1)
        T("stubborn finished its work")
    except asyncio.CancelledError:
        T("stubborn cancelled again")
        raise

async def main():
    asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    T("main returns")

run(main)
T("after run")
