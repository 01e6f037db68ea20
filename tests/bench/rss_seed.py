#!/usr/bin/python3
"""rss_seed.py - the seed's RSS reader (rssreader/rssreader.py: asyncio +
aiohttp + feedparser), ported step by step for tests/bench/rss_run, as
../shared/CATALOG.md describes it:

1. main is wrapped by the 2.16 timer ("Calling ..." first, "... completed in X sec." last);
2. one aiohttp ClientSession with its defaults (100 connections, 10 redirects,
   5 min total timeout, gzip/deflate);
3. one task per feed URL, each GETs the feed and returns its body as text;
4. wait(pending, FIRST_COMPLETED) until nothing is pending, printing the
   counts per round and each body's first 100 characters (errors logged);
5. len(htmls), then every body parsed with feedparser serially, len(parsed_feeds);
6. every entry's link (None when absent), len(entry_urls);
7. one task per non-None link: GET, redirects followed, the final status;
8. wait(pending, FIRST_COMPLETED, timeout=5) until every task ends.

The only departure: the feed URLs come from a file (argv[1], one a line,
'#' comments) instead of the 58 URLs written into the program, so it can be
pointed at the local farm (tests/tools/feed_farm.py); trust for the farm's CA
comes from SSL_CERT_FILE, which Python's default SSL context reads.

--resolve is NOT the seed: it hands feedparser each feed's final URL so
relative links resolve (the seed leaves them relative and they fail without a
request), for a comparison in which both readers check every link.

    /usr/bin/python3 tests/bench/rss_seed.py [--resolve] FEEDS.txt
"""
import asyncio
import functools
import logging
import sys
import time
from asyncio import FIRST_COMPLETED

import aiohttp
import feedparser


def async_timed():
    """Listing 2.16's timer."""
    def wrapper(func):
        @functools.wraps(func)
        async def wrapped(*args, **kwargs):
            print(f"Calling {func} with arguments {args} {kwargs}")
            start = time.time()
            try:
                return await func(*args, **kwargs)
            finally:
                total = time.time() - start
                print(f"{func} completed in {total:.4f} sec.")
        return wrapped
    return wrapper


def load_feeds(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.strip().startswith("#")]


RESOLVE = False


class Page(str):
    """A body that remembers its final URL (--resolve only)."""
    url = None


async def fetch_html(session, url):
    async with session.get(url) as response:
        if not RESOLVE:
            return await response.text()
        page = Page(await response.text())
        page.url = str(response.url)
        return page


def parse(html):
    if not RESOLVE:
        return feedparser.parse(html)
    return feedparser.parse(html, response_headers={"content-location": html.url})


async def fetch_status(session, url):
    async with session.get(url) as response:
        return response.status


@async_timed()
async def main(feeds):
    async with aiohttp.ClientSession() as session:
        pending = [asyncio.create_task(fetch_html(session, url)) for url in feeds]
        htmls = []
        while pending:
            done, pending = await asyncio.wait(pending, return_when=FIRST_COMPLETED)
            print(f"Done tasks...: {len(done)}")
            print(f"Pending tasks: {len(pending)}")
            for done_task in done:
                try:
                    html = done_task.result()
                    print(f"{html[:100]=}...")
                    htmls.append(html)
                except Exception:
                    logging.exception("An error has occured during request")
        print(f"{len(htmls)=}")

        parsed_feeds = [parse(html) for html in htmls]
        print(f"{len(parsed_feeds)=}")

        entry_urls = []
        for feed in parsed_feeds:
            for entry in feed.entries:
                entry_urls.append(entry.get("link"))
        print(f"{len(entry_urls)=}")

        pending = [asyncio.create_task(fetch_status(session, url))
                   for url in entry_urls if url is not None]
        while pending:
            done, pending = await asyncio.wait(pending, return_when=FIRST_COMPLETED, timeout=5)
            print(f"Done tasks...: {len(done)}")
            print(f"Pending tasks: {len(pending)}")
            for done_task in done:
                try:
                    print(f"{done_task.result()=}")
                except Exception:
                    logging.exception("An error has occured during request")


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--resolve"]:
        RESOLVE = True
        args = args[1:]
    if len(args) != 1:
        sys.exit("usage: rss_seed.py [--resolve] FEEDS.txt")
    asyncio.run(main(load_feeds(args[0])))
