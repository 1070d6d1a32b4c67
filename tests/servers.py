"""Real local servers for tests: an RSS feed server, a webhook receiver, an SMTP sink.

All bind 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import Message
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class FeedItem:
    guid: str
    title: str
    description: str
    published: datetime


@dataclass
class FeedServer:
    """Serves /feed.xml as RSS 2.0 built from ``items``, with ETag/304 support."""

    items: list[FeedItem] = field(default_factory=list)
    requests: int = 0
    etags: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/feed.xml"

    def body(self) -> bytes:
        entries = "".join(
            f"<item><title>{escape(i.title)}</title><guid>{escape(i.guid)}</guid>"
            f"<link>https://news.example.org/{escape(i.guid)}</link>"
            f"<pubDate>{format_datetime(i.published, usegmt=True)}</pubDate>"
            f"<description>{escape(i.description)}</description></item>"
            for i in self.items
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Test feed</title><link>https://news.example.org/</link>{entries}"
            "</channel></rss>"
        ).encode()

    def add(self, item: FeedItem) -> None:
        with self.lock:
            self.items.append(item)


@contextmanager
def serve_feed(server: FeedServer) -> Iterator[FeedServer]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with server.lock:
                server.requests += 1
                body = server.body()
            tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if server.etags and self.headers.get("If-None-Match") == tag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if server.etags:
                self.send_header("ETag", tag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with _http(Handler) as port:
        server.port = port
        yield server


@dataclass
class WebhookReceiver:
    posts: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"


@contextmanager
def serve_webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            receiver.posts.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with _http(Handler) as port:
        receiver.port = port
        yield receiver


@contextmanager
def _http(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@dataclass
class SmtpSink:
    messages: list[Message] = field(default_factory=list)
    port: int = 0

    def url(self, to: str = "desk@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from=monitor@example.org&to={to}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


@contextmanager
def serve_smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def body_text(msg: Message, subtype: str | None = None) -> str:
    """The text parts of an email (only text/<subtype> when given), decoded."""
    parts = msg.walk() if msg.is_multipart() else [msg]
    out = []
    for part in parts:
        if part.get_content_maintype() == "text" and subtype in (None, part.get_content_subtype()):
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            out.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "\n".join(out)
