"""Shared by the conformance cases: T() prints one trace line; outcome() names
an awaited result the way conf.h's st() names a loom result."""
import asyncio
import sys


def T(*parts):
    print(" ".join(str(p) for p in parts), flush=True)


class Fail(Exception):
    """The 'error' a C case gives as -EIO."""


async def outcome(aw):
    try:
        return "ok %d" % (await aw)
    except asyncio.CancelledError:
        return "cancelled"
    except (asyncio.TimeoutError, TimeoutError):
        return "timeout"
    except Exception:
        return "error"


def task_outcome(t):
    if t.cancelled():
        return "cancelled"
    if t.exception() is not None:
        return "error"
    return "ok %d" % t.result()


def run(main):
    asyncio.run(main())
    sys.stdout.flush()
