#!/usr/bin/env python3
"""feed_farm.py - a local farm of RSS/Atom/RDF feeds for loom-rss tests (standard library only).

Serves tests/feeds/ over HTTP and HTTPS on 127.0.0.1 with every transport case a
feed reader meets: per-feed Content-Type charset, gzip/deflate when asked,
chunked bodies, redirects (301/302/307/308, relative, chains, http -> https), a
redirect loop, 404, 500, a body that drips a byte a second, a body cut short,
and entry-link targets whose HEAD answers 200, 404, 405 (GET works) or a
redirect. It writes the list of feed URLs it serves (one a line, with a
refused port among them) and, as JSON, what a correct reader must report for
each feed and link.

    feed_farm.py [--port P] [--tls-port Q --cert CERT --key KEY]
                 [--feeds-out FILE] [--expect-out FILE] [--root DIR]
                 [--huge-items N] [--stall-max SEC] [--lifetime SEC] [--exit-with-parent]

Ports default to 0 (any free one). A test passes --exit-with-parent (the farm
exits once the process that started it is gone, even if it crashed) and a
--lifetime cap, so no farm outlives its test. Prints one line per listener,
"listening on 127.0.0.1:PORT" (the HTTPS one ends in " tls"), after the
files are written, then serves until SIGTERM/SIGINT. Everything is
deterministic: same arguments, same bytes.

    feed_farm.py --compare EXPECT.json ACTUAL.json

compares a reader's JSON report (loom-rss --json, in the same shape as
EXPECT: "feeds" [{url, outcome, final_url, parse, kind, title, entries
[{link, title}]}], "links" {link: final status}, "summary" {htmls,
entry_urls}) with the expectations: feeds are matched by URL (any order);
prints one line per difference and exits 1 if there is any.

Paths:
  /feeds/NAME              the corpus file (@ORIGIN@ replaced by this listener's origin)
  /gzip/NAME, /deflate/NAME  Content-Encoding when the request accepts it
  /chunked/NAME            Transfer-Encoding: chunked, 7-byte chunks
  /r/301|302|307|308/NAME  one redirect to /feeds/NAME (relative Location)
  /r/https/NAME            301 to https://127.0.0.1:Q/feeds/NAME
  /r/chain/NAME            302 -> 301 -> /feeds/NAME
  /loop/a, /loop/b         302 to each other
  /status/404, /status/500 an HTML 404 page, a 500
  /stall/NAME              200, Content-Length, then one byte a second (at most --stall-max s)
  /cut/NAME                Content-Length of the whole file, half of it, then close
  /links/ok/X              200                 /links/missing/X   404
  /links/nohead/X          HEAD 405, GET 200   /links/moved/X     301 -> /links/ok/X
"""
import argparse
import gzip
import http.server
import json
import os
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import zlib

# Per corpus file: Content-Type sent, and what a reader must find. Links are
# templates: {O} is the origin of the URL the feed was finally fetched from.
CORPUS = {
    "rss2-utf8.xml": {
        "ctype": "application/rss+xml; charset=utf-8", "kind": "rss", "parse": "ok",
        "title": "Loom Test & Feed <UTF-8>",
        "entries": [
            ("{O}/links/ok/1?a=1&b=2", "Привет, мир — «CDATA» & <b>raw</b>"),
            ("{O}/links/ok/2", "Relative link"),
            ("{O}/links/nohead/3", "Guid only"),
            ("{O}/links/missing/4", "Gone \U0001F4A5 ©"),
            ("{O}/links/moved/5", "Moved\u009b31m control"),
            (None, "No link at all"),
        ]},
    "rss2-cp1251.xml": {
        "ctype": "application/rss+xml", "kind": "rss", "parse": "ok",
        "title": "Новости 3DNews — тест",
        "entries": [
            ("{O}/links/ok/11", "Первая новость: ёжик в тумане"),
            ("{O}/links/ok/12", "Вторая «новость» №2"),
            ("{O}/links/moved/13", "Третья — ЭЮЯ эюя"),
        ]},
    "rss2-koi8r.xml": {
        "ctype": "text/xml; charset=koi8-r", "kind": "rss", "parse": "ok",
        "title": "Игромания: статьи",
        "entries": [
            ("{O}/links/ok/21", "Обзор: Ведьмак"),
            ("{O}/links/nohead/22", "Превью: \"Щит\" Ёё"),
        ]},
    "utf16-bom.xml": {
        "ctype": "application/xml", "kind": "rss", "parse": "ok",
        "title": "UTF-16 лента ✓ \U0001D11E",
        "entries": [
            ("{O}/links/ok/31", "Запись один \U0001D11E"),
            ("{O}/links/ok/32", "Запись два"),
        ]},
    "atom-base.xml": {
        "ctype": "application/atom+xml", "kind": "atom", "parse": "ok",
        "title": "Atom base test & co",
        "entries": [
            ("{O}/links/ok/41", "Alternate after self"),
            ("{O}/links/moved/42", "Rel-less, entry base"),
            ("{O}/links/ok/43", "XHTML title"),
            (None, "Only self"),
            ("{O}/links/ok/45#frag", "Escaped \x1b[2J\x1b]0;pwned\x07 html"),
        ]},
    "rdf.xml": {
        "ctype": "application/rdf+xml", "kind": "rdf", "parse": "ok",
        "title": "RDF Site Summary",
        "entries": [
            ("{O}/links/ok/51", "First RDF item"),
            ("{O}/links/moved/52", "About only"),
        ]},
    "malformed.xml": {
        "ctype": "application/rss+xml", "kind": "rss", "parse": "xml-error",
        "title": "Broken feed",
        "entries": [("{O}/links/ok/61", "Before the break")]},
    "billion-laughs.xml": {
        "ctype": "application/xml", "kind": "unknown", "parse": "entity-refused",
        "title": "", "entries": []},
    "404.html": {
        "ctype": "text/html; charset=utf-8", "kind": "unknown", "parse": "not-a-feed",
        "title": "", "entries": []},
}

# Final status of a link target, by the path's second segment.
LINK_STATUS = {"ok": 200, "missing": 404, "nohead": 200, "moved": 200}

ERROR_500 = b"Internal Server Error\n"


def huge_feed(n):
    """A generated RSS 2.0 feed of n items (never committed)."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
             '<title>Huge feed</title>\n']
    for i in range(n):
        parts.append('<item><title>Huge entry %d</title><link>/links/ok/h%d</link></item>\n'
                     % (i, i))
    parts.append("</channel></rss>\n")
    return "".join(parts).encode()


def huge_expect(n):
    return {"ctype": "application/rss+xml; charset=utf-8", "kind": "rss", "parse": "ok",
            "title": "Huge feed",
            "entries": [("{O}/links/ok/h%d" % i, "Huge entry %d" % i) for i in range(n)]}


class Farm:
    def __init__(self, args):
        self.args = args
        self.root = args.root
        self.origin = None      # "http://127.0.0.1:P"
        self.tls_origin = None  # "https://127.0.0.1:Q" or None
        self.huge = huge_feed(args.huge_items)

    def body(self, name, origin):
        """The corpus file with @ORIGIN@ replaced, in the file's own encoding."""
        if name == "huge.xml":
            return self.huge
        if name not in CORPUS:
            return None
        with open(os.path.join(self.root, name), "rb") as f:
            data = f.read()
        # ASCII-compatible files only carry the placeholder (utf16-bom.xml has none).
        return data.replace(b"@ORIGIN@", origin.encode())

    def ctype(self, name):
        return "application/rss+xml; charset=utf-8" if name == "huge.xml" else CORPUS[name]["ctype"]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "loom-feed-farm/1"
    timeout = 30  # an idle or stuck client costs a thread at most this long

    def log_message(self, fmt, *args):  # quiet: the test reads stdout for "listening on"
        pass

    # --- helpers ---
    def origin(self):
        return self.server.origin

    def send(self, status, body=b"", ctype="text/plain; charset=utf-8", headers=(), head=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if not head and self.command != "HEAD":
            self.wfile.write(body)

    def redirect(self, status, location):
        self.send(status, b"moved\n", headers=[("Location", location)])

    def feed_or_404(self, name):
        body = self.server.farm.body(name, self.origin())
        if body is None:
            self.not_found()
            return None
        return body

    def not_found(self):
        with open(os.path.join(self.server.farm.root, "404.html"), "rb") as f:
            self.send(404, f.read(), CORPUS["404.html"]["ctype"])

    # --- routes ---
    def do_HEAD(self):
        self.route()

    def do_GET(self):
        self.route()

    def route(self):
        farm = self.server.farm
        parts = self.path.split("?", 1)[0].split("/")[1:]
        try:
            kind = parts[0]
            if kind == "links" and len(parts) == 3:
                return self.link(parts[1], parts[2])
            if kind == "feeds" and len(parts) == 2:
                body = self.feed_or_404(parts[1])
                if body is not None:
                    self.send(200, body, farm.ctype(parts[1]))
                return
            if kind in ("gzip", "deflate") and len(parts) == 2:
                return self.encoded(kind, parts[1])
            if kind == "chunked" and len(parts) == 2:
                return self.chunked(parts[1])
            if kind == "r" and len(parts) == 3:
                return self.redirects(parts[1], parts[2])
            if kind == "loop" and len(parts) == 2:
                return self.redirect(302, "/loop/" + ("b" if parts[1] == "a" else "a"))
            if kind == "status" and parts[1:] == ["404"]:
                return self.not_found()
            if kind == "status" and parts[1:] == ["500"]:
                return self.send(500, ERROR_500)
            if kind == "stall" and len(parts) == 2:
                return self.stall(parts[1])
            if kind == "cut" and len(parts) == 2:
                return self.cut(parts[1])
        except IndexError:
            pass
        self.not_found()

    def link(self, what, _id):
        if what == "ok":
            return self.send(200, b"<html><body>ok</body></html>\n", "text/html; charset=utf-8")
        if what == "missing":
            return self.not_found()
        if what == "nohead":
            if self.command == "HEAD":
                return self.send(405, b"", headers=[("Allow", "GET")])
            return self.send(200, b"<html><body>GET only</body></html>\n", "text/html")
        if what == "moved":
            return self.redirect(301, "/links/ok/" + _id)
        self.not_found()

    def encoded(self, how, name):
        body = self.feed_or_404(name)
        if body is None:
            return
        accept = self.headers.get("Accept-Encoding", "")
        names = [t.split(";")[0].strip().lower() for t in accept.split(",")]
        headers = [("Vary", "Accept-Encoding")]
        if how in names:
            # mtime=0: the same bytes every run
            body = gzip.compress(body, mtime=0) if how == "gzip" else zlib.compress(body)
            headers.append(("Content-Encoding", how))
        self.send(200, body, self.server.farm.ctype(name), headers)

    def chunked(self, name):
        body = self.feed_or_404(name)
        if body is None:
            return
        self.send_response(200)
        self.send_header("Content-Type", self.server.farm.ctype(name))
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command == "HEAD":
            return
        for i in range(0, len(body), 7):  # 7 bytes: multibyte characters split across chunks
            piece = body[i:i + 7]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")

    def redirects(self, how, name):
        if how == "301":
            return self.redirect(301, "/feeds/" + name)
        if how == "302":
            return self.redirect(302, "/feeds/" + name)
        if how == "307":
            return self.redirect(307, "../../feeds/" + name)  # relative to /r/307/
        if how == "308":
            return self.redirect(308, self.origin() + "/feeds/" + name)  # absolute
        if how == "https" and self.server.farm.tls_origin:
            return self.redirect(301, self.server.farm.tls_origin + "/feeds/" + name)
        if how == "chain":
            return self.redirect(302, "/r/301/" + name)
        self.not_found()

    def stall(self, name):
        body = self.feed_or_404(name)
        if body is None:
            return
        self.send_response(200)
        self.send_header("Content-Type", self.server.farm.ctype(name))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.flush()
        deadline = time.monotonic() + self.server.farm.args.stall_max
        for i in range(len(body)):
            if time.monotonic() > deadline:
                break
            try:
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
            except OSError:
                return
            time.sleep(1.0)
        self.close_connection = True

    def cut(self, name):
        body = self.feed_or_404(name)
        if body is None:
            return
        self.send_response(200)
        self.send_header("Content-Type", self.server.farm.ctype(name))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # socketserver's 5 drops SYNs when a reader opens 100 at once

    def __init__(self, farm, port, tls_ctx=None):
        self.farm = farm
        self.tls_ctx = tls_ctx
        super().__init__(("127.0.0.1", port), Handler)
        self.port = self.server_address[1]
        scheme = "https" if tls_ctx else "http"
        self.origin = "%s://127.0.0.1:%d" % (scheme, self.port)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's thread, never in accept.
        if self.tls_ctx:
            request.settimeout(Handler.timeout)
            try:
                request = self.tls_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass  # a client that went away mid-response is part of the tests


def refused_port():
    """A port nothing listens on (bound then closed: the kernel answers RST)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def plan(farm, refused):
    """(url, expectation) for every feed the list holds, in order."""
    O, T = farm.origin, farm.tls_origin
    out = []

    def ok(url, name, final=None):
        out.append((url, {"outcome": "ok", "status": 200, "final_url": final or url,
                          "feed": name}))

    for name in ["rss2-utf8.xml", "rss2-cp1251.xml", "rss2-koi8r.xml", "utf16-bom.xml",
                 "atom-base.xml", "rdf.xml", "malformed.xml", "billion-laughs.xml", "huge.xml"]:
        ok("%s/feeds/%s" % (O, name), name)
    if T:
        ok("%s/feeds/atom-base.xml" % T, "atom-base.xml")
        ok("%s/feeds/rss2-cp1251.xml" % T, "rss2-cp1251.xml")
    ok(O + "/gzip/rss2-cp1251.xml", "rss2-cp1251.xml")
    ok(O + "/deflate/rdf.xml", "rdf.xml")
    ok(O + "/chunked/rss2-koi8r.xml", "rss2-koi8r.xml")
    ok(O + "/chunked/utf16-bom.xml", "utf16-bom.xml")
    ok(O + "/r/301/rss2-utf8.xml", "rss2-utf8.xml", O + "/feeds/rss2-utf8.xml")
    ok(O + "/r/302/atom-base.xml", "atom-base.xml", O + "/feeds/atom-base.xml")
    ok(O + "/r/307/rdf.xml", "rdf.xml", O + "/feeds/rdf.xml")
    ok(O + "/r/308/rss2-cp1251.xml", "rss2-cp1251.xml", O + "/feeds/rss2-cp1251.xml")
    ok(O + "/r/chain/utf16-bom.xml", "utf16-bom.xml", O + "/feeds/utf16-bom.xml")
    if T:
        ok(O + "/r/https/rss2-koi8r.xml", "rss2-koi8r.xml", T + "/feeds/rss2-koi8r.xml")
    out.append((O + "/loop/a", {"outcome": "redirect-loop", "status": None, "feed": None}))
    out.append((O + "/status/404", {"outcome": "http-404", "status": 404, "feed": "404.html",
                                    "final_url": O + "/status/404"}))
    out.append((O + "/status/500", {"outcome": "http-500", "status": 500, "feed": None,
                                    "final_url": O + "/status/500", "parse": "xml-error"}))
    out.append((O + "/stall/rss2-utf8.xml", {"outcome": "timeout", "status": 200, "feed": None}))
    out.append((O + "/cut/atom-base.xml", {"outcome": "truncated", "status": 200, "feed": None}))
    out.append(("http://127.0.0.1:%d/feeds/rss2-utf8.xml" % refused,
                {"outcome": "refused", "status": None, "feed": None}))
    return out


def origin_of(url):
    scheme, rest = url.split("://", 1)
    return scheme + "://" + rest.split("/", 1)[0]


def expectations(farm, refused):
    feeds, links = [], {}
    counts, statuses = {}, {}
    htmls = 0
    for url, e in plan(farm, refused):
        name = e.pop("feed")
        rec = {"url": url}
        rec.update(e)
        counts[e["outcome"]] = counts.get(e["outcome"], 0) + 1
        if e["status"] is not None and e["outcome"] in ("ok", "http-404", "http-500"):
            htmls += 1  # a whole body arrived (the seed's len(htmls))
        if name is None:
            rec.setdefault("parse", None)
            rec.update({"kind": None, "title": None, "entries": []})
            feeds.append(rec)
            continue
        c = huge_expect(farm.args.huge_items) if name == "huge.xml" else CORPUS[name]
        O = origin_of(rec["final_url"])
        entries = []
        for link, title in c["entries"]:
            link = link.format(O=O) if link else None
            entries.append({"link": link, "title": title})
            if link:
                kind = link.split("/links/", 1)[1].split("/", 1)[0]
                links[link] = LINK_STATUS[kind]
        rec.update({"parse": c["parse"], "kind": c["kind"], "title": c["title"],
                    "entries": entries})
        feeds.append(rec)
    for status in links.values():
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    n_entry_urls = sum(1 for f in feeds for e in f["entries"] if e["link"])
    return {
        "origin": farm.origin, "tls_origin": farm.tls_origin,
        "feeds": feeds,
        "links": links,  # every distinct entry link -> final status after HEAD/GET + redirects
        "summary": {"feeds": len(feeds), "htmls": htmls, "entry_urls": n_entry_urls,
                    "distinct_links": len(links), "outcomes": counts, "link_statuses": statuses},
    }


def compare(expect_path, actual_path):
    """Differences between expectations and a reader's report, one line each."""
    with open(expect_path) as f:
        exp = json.load(f)
    with open(actual_path) as f:
        act = json.load(f)
    diffs = []
    got = {f.get("url"): f for f in act.get("feeds", [])}
    for e in exp["feeds"]:
        url = e["url"]
        a = got.pop(url, None)
        if a is None:
            diffs.append("%s: missing from the report" % url)
            continue
        if a.get("outcome") != e["outcome"]:
            diffs.append("%s: outcome %r, want %r" % (url, a.get("outcome"), e["outcome"]))
            continue
        if e["outcome"] not in ("ok", "http-404", "http-500"):
            continue
        for key in ("final_url", "parse", "kind", "title"):
            if e.get(key) is not None and key in a and a[key] != e[key]:
                diffs.append("%s: %s %r, want %r" % (url, key, a[key], e[key]))
        want = [(x["link"], x["title"]) for x in e["entries"]]
        have = [(x.get("link"), x.get("title")) for x in a.get("entries", [])]
        if have != want:
            for i, (h, w) in enumerate(zip(have, want)):
                if h != w:
                    diffs.append("%s: entry %d %r, want %r" % (url, i, h, w))
                    break
            if len(have) != len(want):
                diffs.append("%s: %d entries, want %d" % (url, len(have), len(want)))
    for url in got:
        diffs.append("%s: in the report, not in the farm's list" % url)
    links = act.get("links", {})
    for link, status in exp["links"].items():
        if str(links.get(link)) != str(status):
            diffs.append("link %s: %r, want %r" % (link, links.get(link), status))
    for key in ("htmls", "entry_urls"):
        have = act.get("summary", {}).get(key)
        if have != exp["summary"][key]:
            diffs.append("summary %s: %r, want %r" % (key, have, exp["summary"][key]))
    return diffs


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--compare":
        diffs = compare(sys.argv[2], sys.argv[3])
        for d in diffs:
            print(d)
        print("%d difference(s)" % len(diffs))
        sys.exit(1 if diffs else 0)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls-port", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "..", "feeds"))
    ap.add_argument("--feeds-out")
    ap.add_argument("--expect-out")
    ap.add_argument("--huge-items", type=int, default=2000)
    ap.add_argument("--stall-max", type=float, default=120.0)
    ap.add_argument("--lifetime", type=float, default=0, help="exit after SEC seconds (0: never)")
    ap.add_argument("--exit-with-parent", action="store_true")
    args = ap.parse_args()
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")

    farm = Farm(args)
    http_srv = Server(farm, args.port)
    farm.origin = http_srv.origin
    servers = [http_srv]
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        ctx.set_alpn_protocols(["http/1.1"])
        tls_srv = Server(farm, args.tls_port, ctx)
        farm.tls_origin = tls_srv.origin
        servers.append(tls_srv)

    refused = refused_port()
    exp = expectations(farm, refused)
    if args.feeds_out:
        with open(args.feeds_out, "w") as f:
            f.write("# feed_farm.py: %d feeds (expected outcomes in the JSON file)\n"
                    % len(exp["feeds"]))
            for rec in exp["feeds"]:
                f.write(rec["url"] + "\n")
    if args.expect_out:
        with open(args.expect_out, "w") as f:
            json.dump(exp, f, ensure_ascii=False, indent=1)
            f.write("\n")

    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("listening on 127.0.0.1:%d" % http_srv.port)
    if len(servers) > 1:
        print("listening on 127.0.0.1:%d tls" % servers[1].port)
    sys.stdout.flush()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    parent, start = os.getppid(), time.monotonic()
    while not stop.wait(0.2):
        if args.exit_with_parent and os.getppid() != parent:
            break
        if args.lifetime and time.monotonic() - start > args.lifetime:
            break
    for s in servers:
        s.shutdown()
        s.server_close()


if __name__ == "__main__":
    main()
