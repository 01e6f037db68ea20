#!/usr/bin/env python3
# http_hostile.py - a misbehaving HTTP/1.1 server for loom's client tests (raw bytes, asyncio).
# Usage: http_hostile.py  -> prints "listening on 127.0.0.1:PORT". Every answer is bounded in
# size and time; the test kills it when done, and it exits by itself after 300 s. Endpoints:
#   /ok                 200 "ok\n" (keep-alive)
#   /head-body          HEAD: a head with Content-Length 5, then (a moment later) "hello" anyway
#   /204-body           204 with Content-Length 5, then "hello" a moment later
#   /short-cl           Content-Length 3, then "hello" (2 bytes too many, a moment later)
#   /ce?v=V&layers=L    body "stacked\n" gzipped L times, Content-Encoding V (raw value)
#   /ce-split?n=N       N Content-Encoding: gzip fields, body gzipped N times
#   /loc?v=V            302 with Location V (raw value, %-decoded by the query parser)
#   /raw?b=B[&close=1]  the bytes B (%-encoded) as the whole answer, then close if asked
#   /drip-head?s=S      a head one byte every S seconds (for at most 60 s), then "ok\n"
#   /rst                200 "ok\n" (keep-alive implied), then a reset a moment later
#   /half-close         200 "ok\n" (keep-alive implied), then shutdown(SHUT_WR), still reading
#   /early-413          413 with a short body as soon as the head is in, then close (the
#                       request body unread: the kernel resets the connection)
#   /never              read the request, never answer (the connection is held for 60 s)
#   /stats              "accepted=A requests=R"
import asyncio
import gzip
import socket
import struct
import sys
from urllib.parse import parse_qs, urlsplit

stats = {"accepted": 0, "requests": 0}
BODY = b"stacked\n"
LIFETIME = 300  # seconds: then the server exits on its own


def head(status, reason, headers):
    lines = ["HTTP/1.1 %d %s" % (status, reason)] + ["%s: %s" % kv for kv in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def late(w, data):
    await w.drain()
    await asyncio.sleep(0.05)
    w.write(data)


async def route(w, method, path, q):
    """Answer one request; returns False to close the connection."""
    if path == "/ok":
        w.write(head(200, "OK", [("Content-Length", "3")]) + b"ok\n")
    elif path == "/head-body":
        w.write(head(200, "OK", [("Content-Length", "5")]))
        await late(w, b"hello")
    elif path == "/204-body":
        w.write(head(204, "No Content", [("Content-Length", "5")]))
        await late(w, b"hello")
    elif path == "/short-cl":
        w.write(head(200, "OK", [("Content-Length", "3")]) + b"hel")
        await late(w, b"lo")
    elif path in ("/ce", "/ce-split"):
        n = min(int(q.get("layers", q.get("n", "1"))), 8)
        body = BODY
        for _ in range(n):
            body = gzip.compress(body)
        if path == "/ce":
            hs = [("Content-Encoding", q.get("v", "gzip"))]
        else:
            hs = [("Content-Encoding", "gzip")] * n
        w.write(head(200, "OK", hs + [("Content-Length", str(len(body)))]) + body)
    elif path == "/loc":
        loc = q.get("v", "/ok")
        w.write(head(302, "Found", [("Location", loc), ("Content-Length", "0")]))
    elif path == "/raw":
        w.write(q.get("b", "").encode("latin-1"))
        return q.get("close") != "1"
    elif path == "/drip-head":
        data = head(200, "OK", [("Content-Length", "3")]) + b"ok\n"
        step = float(q.get("s", "1"))
        for i in range(min(len(data), int(60 / step))):
            w.write(data[i:i + 1])
            await w.drain()
            await asyncio.sleep(step)
    elif path == "/rst":
        w.write(head(200, "OK", [("Content-Length", "3")]) + b"ok\n")
        await w.drain()
        await asyncio.sleep(0.05)
        sock = w.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        w.transport.abort()
        return False
    elif path == "/half-close":
        w.write(head(200, "OK", [("Content-Length", "3")]) + b"ok\n")
        await w.drain()
        w.write_eof()
    elif path == "/early-413":
        msg = b"too large\n"
        w.write(head(413, "Content Too Large", [("Content-Length", str(len(msg))),
                                                ("Connection", "close")]) + msg)
        await w.drain()
        await asyncio.sleep(0.1)
        return False
    elif path == "/never":
        await asyncio.sleep(60)
        return False
    elif path == "/stats":
        b = ("accepted=%d requests=%d" % (stats["accepted"], stats["requests"])).encode()
        w.write(head(200, "OK", [("Content-Length", str(len(b)))]) + b)
    else:
        w.write(head(404, "Not Found", [("Content-Length", "0")]))
    return True


async def handle(r, w):
    stats["accepted"] += 1
    try:
        for _ in range(1000):
            try:
                data = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 30)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError):
                break
            stats["requests"] += 1
            method, target, _ = data.decode("latin-1").split("\r\n")[0].split(" ", 2)
            u = urlsplit(target)
            q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True,
                                              encoding="latin-1").items()}
            if not await route(w, method, u.path, q):
                break
            await w.drain()
    except (ConnectionError, ValueError):
        pass
    finally:
        w.close()


async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0, limit=1 << 20)
    print("listening on 127.0.0.1:%d" % srv.sockets[0].getsockname()[1], flush=True)
    async with srv:
        try:  # a test that failed before stopping it must not leave it behind for long
            await asyncio.wait_for(srv.serve_forever(), LIFETIME)
        except asyncio.TimeoutError:
            pass


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
