"""A local feed server for benchmarks: N distinct RSS feeds on 127.0.0.1, fast enough not to
be the bottleneck.

    python bench/feedserver.py --feeds 1000 [--workers 2] [--port 0] [--no-gzip]
        [--slow-share 0.05 --slow-ms 500] [--error-share 0.02] [--grow-share 0.1]

- ``GET /feed/<i>.xml`` (0 <= i < N): RSS 2.0 with the 20 newest items of feed i
  (``articles.feed_article``), ETag and Last-Modified; ``If-None-Match`` / ``If-Modified-Since``
  get a 304. gzip when the client accepts it (unless ``--no-gzip``).
- ``--slow-share``: that share of feeds (fixed by index) answers after ``--slow-ms``.
- ``--error-share``: that share answers 500, or 503 with ``Retry-After: 120`` (alternately).
- ``--grow-share``: that share gains one new item on *every* request (so each poll sees one).
- ``POST /control/add/<i>``: append one item to feed i that reports a meeting of watched
  official ``?official=k`` with ``?place=p`` (alert-latency runs; needs ``--workers 1``).
  Answers with the item's guid.
- ``GET /stats``: JSON request counters (all workers) and the workers' pids.

HTTP/1.1 with keep-alive on raw ``asyncio.start_server``; ``--workers`` processes share the
port through SO_REUSEPORT. Bodies are rendered and compressed once, in the parent before the
workers fork. The parent prints requests/s (all workers) every second while traffic flows,
and a ``READY port=<port>`` line on stdout once every worker listens.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any
from urllib.parse import parse_qs, urlsplit

import common
from articles import BASE_TIME, Article, feed_article, mention_article, rss_document

ITEMS_PER_FEED = 20
# counters per worker: requests, 200, 304, errors (4xx/5xx), bytes sent
N_COUNTERS = 5


@dataclass
class Options:
    feeds: int
    gzip: bool
    slow_share: float
    slow_ms: int
    error_share: float
    grow_share: float
    officials: int
    seed: int
    mention_every: int = 10  # one item in this many reports a meeting; 0: none


def _share(i: int, salt: int) -> float:
    """A fixed pseudo-random number in [0, 1) per feed, independent per salt."""
    digest = hashlib.blake2b(f"{salt}:{i}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class Feeds:
    """Bodies per (feed, number of extra items); shared state lives in shared memory."""

    def __init__(self, opts: Options, extra: SynchronizedArray[int]) -> None:
        self.opts = opts
        self.extra = extra  # items added to each feed since start (grow mode, control/add)
        self.officials = common.make_officials(opts.officials, seed=opts.seed)
        self.cache: dict[tuple[int, int], tuple[bytes, bytes, str, str]] = {}
        self.added: dict[int, list[Article]] = {}  # control/add items, per feed
        self.grow = {i for i in range(opts.feeds) if _share(i, 3) < opts.grow_share}
        self.slow = {i for i in range(opts.feeds) if _share(i, 1) < opts.slow_share}
        self.broken = {i for i in range(opts.feeds) if _share(i, 2) < opts.error_share}

    def render(self, i: int, n_extra: int) -> tuple[bytes, bytes, str, str]:
        key = (i, n_extra)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        added = self.added.get(i, [])
        total = ITEMS_PER_FEED + n_extra - len(added)
        articles = [
            feed_article(i, j, self.officials, self.opts.mention_every)
            for j in range(total - ITEMS_PER_FEED, total)
        ]
        articles = (added[::-1] + articles[::-1])[:ITEMS_PER_FEED]
        body = rss_document(i, articles)
        zipped = gzip.compress(body, compresslevel=6, mtime=0) if self.opts.gzip else b""
        etag = f'"f{i}-{n_extra}"'
        modified = format_datetime(BASE_TIME + timedelta(minutes=n_extra), usegmt=True)
        value = (body, zipped, etag, modified)
        if len(self.cache) > 4 * self.opts.feeds + 1000:
            self.cache.clear()
        self.cache[key] = value
        return value

    def add(self, i: int, official: int, place: int) -> str:
        with self.extra.get_lock():
            n = self.extra[i] + 1
            self.extra[i] = n
        rng = random.Random(i * 7919 + n)
        o = self.officials[official % len(self.officials)]
        title, html = mention_article(rng, o, common.PLACES[place % len(common.PLACES)])
        guid = f"https://latency.example.org/{i}/added-{n}"
        now = datetime.now(UTC)
        self.added.setdefault(i, []).append(Article(guid, title, html, now, True))
        return guid

    def current_extra(self, i: int) -> int:
        if i in self.grow:
            with self.extra.get_lock():
                self.extra[i] += 1
                return int(self.extra[i])
        return int(self.extra[i])


class Worker:
    def __init__(self, feeds: Feeds, counters: Any, slot: int, pids: Any) -> None:
        self.feeds = feeds
        self.counters = counters
        self.base = slot * N_COUNTERS
        self.local = [0] * N_COUNTERS
        self.pids = pids

    def count(self, status: int, sent: int) -> None:
        loc = self.local
        loc[0] += 1
        if status == 200:
            loc[1] += 1
        elif status == 304:
            loc[2] += 1
        elif status >= 400:
            loc[3] += 1
        loc[4] += sent
        # plain stores (no lock): each worker owns its own slots
        for k in range(N_COUNTERS):
            self.counters[self.base + k] = loc[k]

    async def respond(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        parts = urlsplit(target)
        path = parts.path
        if path.startswith("/feed/") and path.endswith(".xml") and method in ("GET", "HEAD"):
            try:
                i = int(path[6:-4])
            except ValueError:
                return 404, [], b"not found\n"
            if not 0 <= i < self.feeds.opts.feeds:
                return 404, [], b"not found\n"
            return await self.feed(i, headers)
        if path.startswith("/control/add/") and method == "POST":
            q = parse_qs(parts.query)
            guid = self.feeds.add(
                int(path.rsplit("/", 1)[1]),
                int(q.get("official", ["0"])[0]),
                int(q.get("place", ["0"])[0]),
            )
            return 200, [("Content-Type", "text/plain")], guid.encode()
        if path == "/stats":
            c = list(self.counters)
            totals = [sum(c[k::N_COUNTERS]) for k in range(N_COUNTERS)]
            doc = dict(
                zip(("requests", "ok", "not_modified", "errors", "bytes"), totals, strict=False)
            )
            doc["pids"] = [p for p in self.pids if p]
            return 200, [("Content-Type", "application/json")], json.dumps(doc).encode()
        return 404, [], b"not found\n"

    async def feed(
        self, i: int, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        feeds = self.feeds
        if i in feeds.slow:
            await asyncio.sleep(feeds.opts.slow_ms / 1000)
        if i in feeds.broken:
            if i % 2:
                return 503, [("Retry-After", "120")], b"busy\n"
            return 500, [], b"internal error\n"
        body, zipped, etag, modified = feeds.render(i, feeds.current_extra(i))
        validators = [("ETag", etag), ("Last-Modified", modified)]
        inm = headers.get("if-none-match")
        if (inm is not None and etag in inm) or (
            inm is None and headers.get("if-modified-since") == modified
        ):
            return 304, validators, b""
        out = [("Content-Type", "application/rss+xml; charset=utf-8"), *validators]
        if zipped and "gzip" in headers.get("accept-encoding", ""):
            out.append(("Content-Encoding", "gzip"))
            return 200, out, zipped
        return 200, out, body

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                try:
                    method, target, version = lines[0].split(" ", 2)
                except ValueError:
                    return
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if line:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                status, extra, payload = await self.respond(method, target, headers, body)
                keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
                head_out = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
                head_out += [f"{k}: {v}" for k, v in extra]
                head_out.append(f"Content-Length: {len(payload)}")
                if not keep:
                    head_out.append("Connection: close")
                wire = ("\r\n".join(head_out) + "\r\n\r\n").encode("latin-1")
                writer.write(wire + payload if method != "HEAD" else wire)
                self.count(status, len(payload))
                await writer.drain()
                if not keep:
                    return
        except ConnectionError:
            return
        finally:
            writer.close()


_REASONS = {
    200: "OK",
    304: "Not Modified",
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def _worker_main(
    port: int,
    slot: int,
    feeds: Feeds,
    counters: Any,
    pids: Any,
    ready: Any,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pids[slot] = os.getpid()

    async def main() -> None:
        sock = _listen(port)
        sock.listen(1024)
        worker = Worker(feeds, counters, slot, pids)
        server = await asyncio.start_server(worker.handle, sock=sock, backlog=1024)
        ready.release()
        async with server:
            await server.serve_forever()

    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def serve(opts: Options, workers: int, port: int, quiet: bool = False) -> None:
    extra = mp.Array("q", opts.feeds or 1)
    counters = mp.Array("q", workers * N_COUNTERS, lock=False)
    pids = mp.Array("q", workers, lock=False)
    feeds = Feeds(opts, extra)
    started = time.perf_counter()
    for i in range(opts.feeds):  # render and compress before forking: workers share the pages
        feeds.render(i, 0)
    prep = time.perf_counter() - started
    reserve = _listen(port)  # holds the port in the SO_REUSEPORT group until workers listen
    port = reserve.getsockname()[1]
    ctx = mp.get_context("fork")
    ready = ctx.Semaphore(0)
    procs = [
        ctx.Process(target=_worker_main, args=(port, k, feeds, counters, pids, ready), daemon=True)
        for k in range(workers)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    reserve.close()
    print(f"READY port={port} feeds={opts.feeds} workers={workers} prep={prep:.2f}s", flush=True)

    stop = False

    def on_signal(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    last = 0
    total_requests = 0
    busy = 0.0
    while not stop and all(p.is_alive() for p in procs):
        time.sleep(1.0)
        now = sum(counters[0::N_COUNTERS])
        if now != last:
            busy += 1.0
            total_requests += now - last
            if not quiet:
                print(f"feedserver: {now - last} req/s (total {now})", file=sys.stderr, flush=True)
        last = now
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(5)
    if total_requests:
        print(
            f"feedserver: served {total_requests} requests in {busy:.0f} busy seconds "
            f"({total_requests / busy:.0f} req/s while busy)",
            file=sys.stderr,
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--feeds", type=int, default=1000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--no-gzip", action="store_true")
    p.add_argument("--slow-share", type=float, default=0.0)
    p.add_argument("--slow-ms", type=int, default=500)
    p.add_argument("--error-share", type=float, default=0.0)
    p.add_argument("--grow-share", type=float, default=0.0)
    p.add_argument("--officials", type=int, default=50, help="watched officials named in items")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--mention-every", type=int, default=10, help="one item in N reports a meeting; 0: none"
    )
    p.add_argument("--quiet", action="store_true", help="no per-second throughput lines")
    a = p.parse_args(argv)
    opts = Options(
        feeds=a.feeds,
        gzip=not a.no_gzip,
        slow_share=a.slow_share,
        slow_ms=a.slow_ms,
        error_share=a.error_share,
        grow_share=a.grow_share,
        officials=a.officials,
        seed=a.seed,
        mention_every=a.mention_every,
    )
    serve(opts, a.workers, a.port, quiet=a.quiet)


if __name__ == "__main__":
    main()
