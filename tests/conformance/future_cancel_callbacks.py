from conf import T, run
import asyncio

async def main():
    loop = asyncio.get_running_loop()
    f = loop.create_future()
    f.add_done_callback(lambda x: T("cb A cancelled", x.cancelled()))
    cb_b = lambda x: T("cb B (removed)")
    f.add_done_callback(cb_b)
    f.add_done_callback(lambda x: T("cb C"))
    T("removed", f.remove_done_callback(cb_b))
    T("cancel", f.cancel())
    T("cancel again", f.cancel())
    try:
        f.set_result(1)
    except asyncio.InvalidStateError:
        T("set_result refused")
    await asyncio.sleep(0)
    f.add_done_callback(lambda x: T("late cb"))
    T("late added")
    await asyncio.sleep(0)
    T("end")

run(main)
