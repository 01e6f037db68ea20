from conf import T, run
import asyncio

# A task woken by its sleep timer resumes two hops after the timer fell due
# (the timer's callback is queued behind what is ready, then the task's step).

async def sleeper():
    T("A sleeps")
    await asyncio.sleep(1e-9)
    T("A woke")

async def ticker():
    for i in range(5):
        T("B", i)
        await asyncio.sleep(0)

async def main():
    await asyncio.gather(asyncio.create_task(sleeper()), asyncio.create_task(ticker()))
    T("end")

run(main)
