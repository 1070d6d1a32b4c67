"""Many feeds on one local server, and an SMTP sink that answers slowly; both record when
each request arrived, so tests can count polls per feed per interval on the server side.

Binds 127.0.0.1 only. Feed ``i`` is ``/f/<i>.xml`` (RSS 2.0 with ETag/304); a feed can be
made slow (the answer waits ``delay`` seconds). Each request is logged with its arrival time
(``time.monotonic()``), feed, User-Agent and how many requests of that feed were in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.servers import FeedItem, FeedServer, free_port


@dataclass(frozen=True)
class Hit:
    at: float  # time.monotonic() on arrival
    feed: int
    agent: str
    overlapping: int  # requests of this feed in flight when it arrived (0: none)


@dataclass
class FeedFarm:
    size: int
    delays: dict[int, float] = field(default_factory=dict)  # feed → seconds before answering
    hits: list[Hit] = field(default_factory=list)
    port: int = 0
    _feeds: list[FeedServer] = field(default_factory=list)
    _in_flight: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._feeds = [FeedServer() for _ in range(self.size)]

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.port}/f/{i}.xml"

    def add(self, i: int, item: FeedItem) -> None:
        with self.lock:
            self._feeds[i].items.append(item)

    def hits_of(self, i: int) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.feed == i]

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            i = int(handler.path.removeprefix("/f/").removesuffix(".xml"))
            feed = self._feeds[i]
        except (ValueError, IndexError):
            handler.send_error(404)
            return
        with self.lock:
            overlapping = self._in_flight.get(i, 0)
            self._in_flight[i] = overlapping + 1
            agent = handler.headers.get("User-Agent", "")
            self.hits.append(Hit(time.monotonic(), i, agent, overlapping))
            body = feed.body()
        try:
            if self.delays.get(i):
                time.sleep(self.delays[i])
            tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if handler.headers.get("If-None-Match") == tag:
                handler.send_response(304)
                handler.end_headers()
                return
            handler.send_response(200)
            handler.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            handler.send_header("Content-Length", str(len(body)))
            handler.send_header("ETag", tag)
            handler.end_headers()
            handler.wfile.write(body)
        finally:
            with self.lock:
                self._in_flight[i] -= 1


@contextmanager
def serve_farm(farm: FeedFarm) -> Iterator[FeedFarm]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            farm._serve(self)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # 50 feeds from two instances at once
        daemon_threads = True

    httpd = Server(("127.0.0.1", 0), Handler)
    farm.port = int(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield farm
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@dataclass
class SlowSmtp:
    """An SMTP sink that waits ``delay`` seconds before accepting each recipient, so a
    sender can be killed mid-delivery (before the message was accepted)."""

    delay: float = 1.0
    accepted: list[tuple[float, Message]] = field(default_factory=list)  # (monotonic, msg)
    rcpts: list[tuple[float, str]] = field(default_factory=list)  # (monotonic, address)
    port: int = 0

    def url(self, to: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from=monitor@example.org&to={to}"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.rcpts.append((time.monotonic(), address))
        await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        self.accepted.append((time.monotonic(), msg))
        return "250 OK"


@contextmanager
def serve_slow_smtp(delay: float) -> Iterator[SlowSmtp]:
    sink = SlowSmtp(delay=delay, port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
