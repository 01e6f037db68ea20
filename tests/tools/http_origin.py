#!/usr/bin/env python3
# http_origin.py - the origin server for loom's HTTP client tests (asyncio streams, raw bytes on
# the wire so every framing case is exact). Usage:
#   http_origin.py [PORT] [--cert CERT --key KEY]
# Prints "listening on 127.0.0.1:PORT" once it accepts. Endpoints (query in ?k=v&...):
#   /hello                 200 "hello world\n", Content-Length, keep-alive
#   /bytes?n=N             N bytes of a repeating pattern (big bodies); &chunked=1 in chunks
#   /chunked?n=N&trailer=1 chunked body in pieces of up to 1000 bytes, trailers X-Sum / X-Count
#   /gzip?n=N | /deflate?n=N[&raw=1] | /bomb?n=N  compressed bodies (&chunked=1 optional,
#                          &piece=P: chunks of P bytes)
#   /gzip-cut?n=N          a gzip body missing its last 10 bytes (framing intact)
#   /text?charset=C        text/plain; charset=C body of lines
#   /redirect?code=C&to=U  C redirect with Location U (relative or absolute)
#   /chain/N               N redirects (relative) ending at /hello
#   /loop/a -> /loop/b -> /loop/a
#   /echo                  "METHOD TARGET\n" + headers + "\n" + body (any method)
#   /delay?s=S             answer after S seconds
#   /drip?n=N&s=S          Content-Length N, one byte every S seconds
#   /never                 read the request, never answer
#   /close-mid?n=N         announce N bytes, send N/10, close
#   /until-close?n=N       no length: body ends at close
#   /info                  100 Continue and 103 Early Hints before the 200
#   /info-flood            20 interim responses;  /switch  a 101 nobody asked for
#   /status?code=C         C with no body for 204/304, else a short one
#   /close-next            answer; the next request on this connection is read, then the
#                          connection is closed with no answer (a stale keep-alive connection)
#   /conn-close            answer with Connection: close
#   /close-after           answer (keep-alive implied), then close the connection silently
#   /http10?n=N            an HTTP/1.0 answer without a length (ends at close)
#   /headers?n=N&size=S    N extra header fields of S bytes each
#   /longreason?n=N        a reason phrase of N bytes
#   /badchunk              malformed chunk-size line;  /longchunkline  chunk extension of 4 KiB
#   /stats                 "accepted=A open=O max_open=M requests=R";  /reset  zero them
#   / /repos/ /about/ /projects/   small HTML pages (chapter 4's site)
# Any path takes &delay=S: wait S seconds before answering. HEAD gets the head
# of the GET answer. Every request is counted.
import asyncio
import gzip
import ssl
import sys
import zlib
from urllib.parse import parse_qs, urlsplit

stats = {"accepted": 0, "open": 0, "max_open": 0, "requests": 0}
bomb_cache = {}


def pattern(n):
    base = bytes(range(32, 127))
    return (base * (n // len(base) + 1))[:n]


def head(status, reason, headers):
    lines = ["HTTP/1.1 %d %s" % (status, reason)]
    lines += ["%s: %s" % kv for kv in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def send_body(w, method, status, headers, body, chunked=False, trailers=None, piece=1000):
    if chunked:
        headers = headers + [("Transfer-Encoding", "chunked")]
        if trailers:
            headers.append(("Trailer", ", ".join(k for k, _ in trailers)))
    else:
        headers = headers + [("Content-Length", str(len(body)))]
    w.write(head(status, "OK" if status == 200 else "X", headers))
    if method == "HEAD":
        return
    if not chunked:
        w.write(body)
        return
    for i in range(0, len(body), piece):
        part = body[i:i + piece]
        w.write(b"%x\r\n" % len(part) + part + b"\r\n")
    w.write(b"0\r\n")
    for k, v in trailers or []:
        w.write(("%s: %s\r\n" % (k, v)).encode())
    w.write(b"\r\n")


def compressed(kind, n, raw):
    data = pattern(n)
    if kind == "gzip":
        return gzip.compress(data)
    c = zlib.compressobj(6, zlib.DEFLATED, -15 if raw else 15)
    return c.compress(data) + c.flush()


async def read_request(r):
    try:
        data = await r.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        return None
    lines = data.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    hdrs = []
    for ln in lines[1:]:
        if ln:
            k, v = ln.split(":", 1)
            hdrs.append((k.strip(), v.strip()))
    low = {k.lower(): v for k, v in hdrs}
    body = b""
    if "content-length" in low:
        body = await r.readexactly(int(low["content-length"]))
    elif low.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await r.readline()).split(b";")[0], 16)
            if size == 0:
                while (await r.readline()) not in (b"\r\n", b""):
                    pass
                break
            body += await r.readexactly(size)
            await r.readline()
    return method, target, hdrs, body


async def handle(r, w):
    stats["accepted"] += 1
    stats["open"] += 1
    stats["max_open"] = max(stats["max_open"], stats["open"])
    close_next = False
    try:
        while True:
            req = await read_request(r)
            if req is None:
                break
            stats["requests"] += 1
            if close_next:
                break
            method, target, hdrs, body = req
            u = urlsplit(target)
            q = {k: v[0] for k, v in parse_qs(u.query).items()}
            keep = await route(w, method, u.path, q, hdrs, body)
            await w.drain()
            if keep == "close-next":
                close_next = True
            elif not keep:
                break
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        stats["open"] -= 1
        w.close()


async def route(w, method, path, q, hdrs, body):
    """Writes one answer; returns False to close the connection after it."""
    if "delay" in q:
        await asyncio.sleep(float(q["delay"]))
    n = int(q.get("n", "100"))
    chunked = q.get("chunked") == "1"
    if path in ("/", "/repos/", "/about/", "/projects/"):
        page = "<html><head><title>%s</title></head><body><a href=\"/about/\">about</a></body></html>\n"
        await send_body(w, method, 200, [("Content-Type", "text/html; charset=utf-8")],
                        (page % path).encode())
    elif path == "/hello":
        await send_body(w, method, 200, [], b"hello world\n")
    elif path == "/bytes":
        await send_body(w, method, 200, [], pattern(n), chunked)
    elif path == "/chunked":
        data = pattern(n)
        tr = [("X-Sum", str(sum(data))), ("X-Count", str(n))] if q.get("trailer") else None
        await send_body(w, method, 200, [], data, True, tr)
    elif path in ("/gzip", "/deflate"):
        kind = path[1:]
        data = compressed(kind, n, q.get("raw") == "1")
        await send_body(w, method, 200, [("Content-Encoding", kind)], data, chunked,
                        piece=int(q.get("piece", "1000")))
    elif path == "/gzip-cut":
        data = compressed("gzip", n, False)
        await send_body(w, method, 200, [("Content-Encoding", "gzip")], data[:-10], chunked)
    elif path == "/bomb":
        if n not in bomb_cache:
            bomb_cache[n] = gzip.compress(b"\0" * n, 9)
        await send_body(w, method, 200, [("Content-Encoding", "gzip")], bomb_cache[n], chunked)
    elif path == "/text":
        cs = q.get("charset", "utf-8")
        await send_body(w, method, 200, [("Content-Type", "text/plain; charset=\"%s\"" % cs)],
                        b"".join(b"line %d\n" % i for i in range(n)), chunked)
    elif path == "/redirect":
        code = int(q.get("code", "302"))
        await send_body(w, method, code, [("Location", q.get("to", "/hello"))], b"moved\n")
    elif path.startswith("/chain/"):
        left = int(path[7:])
        to = "/hello" if left <= 1 else "/chain/%d" % (left - 1)
        await send_body(w, method, 302, [("Location", to)], b"")
    elif path == "/loop/a":
        await send_body(w, method, 302, [("Location", "/loop/b")], b"")
    elif path == "/loop/b":
        await send_body(w, method, 301, [("Location", "/loop/a")], b"")
    elif path == "/echo":
        text = "%s %s\n" % (method, path) + "".join("%s: %s\n" % kv for kv in hdrs) + "\n"
        await send_body(w, method, 200, [], text.encode("latin-1") + body, chunked)
    elif path == "/delay":
        await asyncio.sleep(float(q.get("s", "1")))
        await send_body(w, method, 200, [], b"late\n")
    elif path == "/drip":
        w.write(head(200, "OK", [("Content-Length", str(n))]))
        for _ in range(n):
            await w.drain()
            await asyncio.sleep(float(q.get("s", "1")))
            w.write(b"x")
    elif path == "/never":
        await asyncio.sleep(3600)
    elif path == "/close-mid":
        w.write(head(200, "OK", [("Content-Length", str(n))]) + pattern(n // 10))
        return False
    elif path == "/until-close":
        w.write(head(200, "OK", [("Connection", "close")]))
        if method != "HEAD":
            w.write(pattern(n))
        return False
    elif path == "/info-flood":
        w.write(b"HTTP/1.1 100 Continue\r\n\r\n" * 20)
        await send_body(w, method, 200, [], b"late\n")
    elif path == "/switch":
        w.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n")
        return False
    elif path == "/info":
        w.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n")
        await send_body(w, method, 200, [], b"after info\n")
    elif path == "/status":
        code = int(q.get("code", "200"))
        if code in (204, 304):
            w.write(head(code, "X", [("ETag", "\"x\"")]))
        else:
            await send_body(w, method, code, [], b"status %d\n" % code)
    elif path == "/close-next":
        await send_body(w, method, 200, [], b"ok\n")
        return "close-next"
    elif path == "/close-after":
        await send_body(w, method, 200, [], b"closing\n")
        return False
    elif path == "/http10":
        w.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + pattern(n))
        return False
    elif path == "/conn-close":
        await send_body(w, method, 200, [("Connection", "close")], b"bye\n")
        return False
    elif path == "/headers":
        size = int(q.get("size", "10"))
        await send_body(w, method, 200, [("X-H%d" % i, "v" * size) for i in range(n)], b"h\n")
    elif path == "/longreason":
        w.write(b"HTTP/1.1 200 " + b"r" * n + b"\r\nContent-Length: 0\r\n\r\n")
    elif path == "/badchunk":
        w.write(head(200, "OK", [("Transfer-Encoding", "chunked")]) + b"zz\r\nabc\r\n0\r\n\r\n")
        return False
    elif path == "/longchunkline":
        w.write(head(200, "OK", [("Transfer-Encoding", "chunked")]) +
                b"3;" + b"e" * 4096 + b"\r\nabc\r\n0\r\n\r\n")
        return False
    elif path == "/stats":
        await send_body(w, method, 200, [], (" ".join("%s=%d" % kv for kv in stats.items())).encode())
    elif path == "/reset":
        stats.update(accepted=1, open=1, max_open=1, requests=0)  # this connection stays
        await send_body(w, method, 200, [], b"reset\n")
    else:
        await send_body(w, method, 404, [], b"not found\n")
    return True


async def main():
    args = sys.argv[1:]
    ctx = None
    if "--cert" in args:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args[args.index("--cert") + 1], args[args.index("--key") + 1])
    port = int(args[0]) if args and args[0].isdigit() else 0
    srv = await asyncio.start_server(handle, "127.0.0.1", port, ssl=ctx, backlog=128)
    print("listening on 127.0.0.1:%d" % srv.sockets[0].getsockname()[1], flush=True)
    async with srv:
        await srv.serve_forever()


try:
    asyncio.run(main())
except KeyboardInterrupt:
    pass
