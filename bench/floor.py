"""The floor: a bare asyncio + httpx + feedparser poll of a list of feeds, nothing else.

    python bench/floor.py --urls urls.txt --state state.json --mode one|sharded

One process runs one poll (like ``monitor poll --once``). Validators from the previous poll
are read from ``--state`` (if it exists) and sent as If-None-Match / If-Modified-Since; the
new ones are written back, so a second run sees 304s. Prints one JSON line with counts and
the poll's own wall time (without interpreter start-up and imports).

Modes (the two rows of issue 7's table):
- ``one``: one AsyncClient, ``--concurrency`` requests in flight, feedparser on the loop;
- ``sharded``: ``--clients`` AsyncClients sharing the concurrency, feedparser in
  ``--procs`` worker processes (entries come back pickled, as a real poller needs them).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing as mp
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import feedparser
import httpx

Entry = tuple[Any, ...]


def parse(url: str, body: bytes, content_type: str) -> list[Entry]:
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers={"content-type": content_type, "content-location": url},
    )
    return [
        (e.get("id"), e.get("link"), e.get("title"), e.get("summary"), e.get("published_parsed"))
        for e in parsed.entries
    ]


def _noop() -> int:
    return 0


async def poll(
    urls: list[str],
    state: dict[str, list[str | None]],
    *,
    mode: str,
    concurrency: int,
    clients: int,
    procs: int,
) -> dict[str, Any]:
    n_clients = clients if mode == "sharded" else 1
    per_client = max(1, concurrency // n_clients)
    # One SSL context for every client, as monitor's make_http does: each client building
    # its own costs ~30 ms (the CA bundle is parsed each time), 0.3 s of start-up at 10
    verify = httpx.create_ssl_context(trust_env=False)
    pool = [
        httpx.AsyncClient(
            limits=httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client),
            timeout=httpx.Timeout(30.0, connect=5.0),
            follow_redirects=True,
            trust_env=False,
            verify=verify,
        )
        for _ in range(n_clients)
    ]
    executor = (
        ProcessPoolExecutor(procs, mp_context=mp.get_context("fork")) if mode == "sharded" else None
    )
    loop = asyncio.get_running_loop()
    if executor is not None:  # a daemon keeps its workers warm: start them before the clock
        await asyncio.gather(*(loop.run_in_executor(executor, _noop) for _ in range(procs)))
    gate = asyncio.Semaphore(concurrency)
    counts = {"ok": 0, "not_modified": 0, "errors": 0, "entries": 0}
    new_state: dict[str, list[str | None]] = {}

    async def one(k: int, url: str) -> None:
        headers = {}
        etag, modified = state.get(url, [None, None])
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        async with gate:
            try:
                r = await pool[k % n_clients].get(url, headers=headers)
            except httpx.HTTPError:
                counts["errors"] += 1
                return
        if r.status_code == 304:
            counts["not_modified"] += 1
            new_state[url] = [etag, modified]
            return
        if r.status_code >= 400:
            counts["errors"] += 1
            return
        ctype = r.headers.get("content-type", "application/xml")
        if executor is None:
            entries = parse(url, r.content, ctype)
        else:
            entries = await loop.run_in_executor(executor, parse, url, r.content, ctype)
        counts["ok"] += 1
        counts["entries"] += len(entries)
        new_state[url] = [r.headers.get("etag"), r.headers.get("last-modified")]

    started = time.perf_counter()
    cpu0 = time.process_time()
    await asyncio.gather(*(one(k, u) for k, u in enumerate(urls)))
    wall = time.perf_counter() - started
    cpu_main = time.process_time() - cpu0
    for c in pool:
        await c.aclose()
    if executor is not None:
        executor.shutdown()
    state.clear()
    state.update(new_state)
    return {"mode": mode, "feeds": len(urls), **counts, "poll_wall": wall, "main_cpu": cpu_main}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="bare asyncio + httpx + feedparser poll")
    p.add_argument("--urls", type=Path, required=True, help="one feed URL per line")
    p.add_argument("--state", type=Path, required=True, help="validators (JSON), read + written")
    p.add_argument("--mode", choices=["one", "sharded"], default="sharded")
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--clients", type=int, default=10)
    p.add_argument("--procs", type=int, default=2)
    a = p.parse_args(argv)
    urls = [u for u in a.urls.read_text().split() if u]
    state = json.loads(a.state.read_text()) if a.state.exists() else {}
    out = asyncio.run(
        poll(
            urls,
            state,
            mode=a.mode,
            concurrency=a.concurrency,
            clients=a.clients,
            procs=a.procs,
        )
    )
    a.state.write_text(json.dumps(state))
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
