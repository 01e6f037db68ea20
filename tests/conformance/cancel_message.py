from conf import T, run, outcome
import asyncio

# A cancel message (asyncio's cancel(msg)) is readable by the cancelled task.

async def worker():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError as e:
        T("worker cancelled:", e.args[0] if e.args else "-")
        raise

async def plain():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError as e:
        T("plain cancelled:", e.args[0] if e.args else "-")
        raise

async def main():
    t = asyncio.create_task(worker())
    p = asyncio.create_task(plain())
    await asyncio.sleep(0)
    t.cancel("shutting down")
    p.cancel()
    T("worker", await outcome(t))
    T("plain", await outcome(p))

run(main)
