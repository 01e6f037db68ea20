from conf import T, run
import asyncio

async def main():
    s = asyncio.BoundedSemaphore(1)
    await s.acquire()
    T("locked", s.locked())
    s.release()
    try:
        s.release()
        T("second release accepted")
    except ValueError:
        T("second release refused")
    T("locked", s.locked())

run(main)
