"""echo_py.py - the echo server with asyncio streams, on asyncio's own loop or uvloop.

    python3 echo_py.py asyncio|uvloop PORT      listens on 127.0.0.1:PORT"""
import asyncio
import resource
import sys


async def handle(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("asyncio", "uvloop"):
        print(__doc__)
        sys.exit(2)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if sys.argv[1] == "uvloop":
        import uvloop
        uvloop.install()
    asyncio.run(main(int(sys.argv[2])))
