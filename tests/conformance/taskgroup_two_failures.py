from conf import T, run, Fail
import asyncio

async def failer(n):
    T("failer", n, "fails")
    raise Fail(n)

async def main():
    try:
        async with asyncio.TaskGroup() as g:
            g.create_task(failer(1))
            g.create_task(failer(2))
    except* Fail as eg:
        T("failures", len(eg.exceptions))

run(main)
