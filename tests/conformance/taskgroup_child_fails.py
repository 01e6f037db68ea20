from conf import T, run, Fail
import asyncio

async def sleeper(n):
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        T("a sleeper cancelled")
        raise

async def failer():
    await asyncio.sleep(0)
    T("failer fails")
    raise Fail()

async def main():
    try:
        async with asyncio.TaskGroup() as g:
            g.create_task(sleeper(1))
            g.create_task(failer())
            g.create_task(sleeper(2))
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                T("body cancelled")
                raise
    except* Fail:
        T("group error")
    T("end")

run(main)
