"""A hostile feed server on 127.0.0.1: every way a third-party source can misbehave.

Each path is one behaviour; ``HostileServer.url(path)`` gives its URL. Trickling handlers
stop when the server stops, so a broken deadline fails a test instead of hanging it.
"""

from __future__ import annotations

import functools
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BOMB_BYTES = 200 * 1024 * 1024  # what the gzip bomb inflates to
ARABIC = "وزير الدفاع يستقبل السفير الأردني"

RSS_OK = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>ok</title>'
    b'<item><guid isPermaLink="false">ok-1</guid><title>A healthy item</title>'
    b"<description>Nothing to see.</description></item></channel></rss>"
)

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + b']>\n<rss version="2.0"><channel><title>lol</title>'
    b'<item><guid isPermaLink="false">lol-1</guid><title>&lol9;</title>'
    b"<description>&lol9;</description></item></channel></rss>"
)


def xxe_feed(secret: Path) -> bytes:
    return (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
        '<rss version="2.0"><channel><title>xxe</title>'
        '<item><guid isPermaLink="false">xxe-1</guid><title>A&xxe;B</title>'
        "<description>&xxe;</description></item></channel></rss>"
    ).encode()


# Declares UTF-8 in the header, is windows-1256 inside (and says so in its XML declaration).
WRONG_CHARSET = (
    '<?xml version="1.0" encoding="windows-1256"?><rss version="2.0"><channel><title>ar</title>'
    f'<item><guid isPermaLink="false">ar-1</guid><title>{ARABIC}</title>'
    f"<description>{ARABIC}</description></item></channel></rss>"
).encode("cp1256")

TRUNCATED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>cut</title>'
    b'<item><guid isPermaLink="false">cut-1</guid><title>Complete item</title>'
    b"<description>Whole.</description></item>"
    b'<item><guid isPermaLink="false">cut-2</guid><title>Half an it'
)

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Ministry of Defence</title></head>"
    b"<body><h1>Welcome</h1><a href='/news'>News</a></body></html>"
)


@functools.cache
def gzip_bomb() -> bytes:
    """200 MB of zeros, gzip-compressed in chunks: about 200 KB on the wire."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1024 * 1024)
    out = [z.compress(chunk) for _ in range(BOMB_BYTES // len(chunk))]
    out.append(z.flush())
    return b"".join(out)


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, secret: Path, *, burst: int = 2, trickle_seconds: float = 10.0) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secret = secret
        self.burst = burst  # how many 503s /burst sends before it recovers
        self.trickle_seconds = trickle_seconds
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{path.lstrip('/')}"


class _Handler(BaseHTTPRequestHandler):
    server: HostileServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        name = self.path.strip("/").split("?")[0]
        with self.server.lock:
            self.server.hits[name] += 1
            hit = self.server.hits[name]
        route: Callable[[int], None] | None = getattr(self, "route_" + name, None)
        try:
            if route is None:
                self.reply(404, b"not here")
            else:
                route(hit)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose (caps, deadlines)

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def feed(self, body: bytes, content_type: str = "application/rss+xml") -> None:
        self.reply(200, body, {"Content-Type": content_type})

    def route_ok(self, hit: int) -> None:
        self.feed(RSS_OK)

    def route_trickle(self, hit: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.end_headers()
        # One byte every 0.1 s: every read is quick, only an overall deadline stops it.
        for _ in range(int(self.server.trickle_seconds * 10)):
            if self.server.stop.wait(0.1):
                break
            self.wfile.write(b" ")
            self.wfile.flush()

    def route_burst(self, hit: int) -> None:
        if hit <= self.server.burst:
            self.reply(503, b"busy")
        else:
            self.feed(RSS_OK.replace(b"ok-1", b"burst-1"))

    def route_limited(self, hit: int) -> None:
        self.reply(429, b"slow down", {"Retry-After": "120"})

    def route_loop(self, hit: int) -> None:
        self.reply(302, headers={"Location": "/loop2"})

    def route_loop2(self, hit: int) -> None:
        self.reply(301, headers={"Location": "/loop"})

    def route_bomb(self, hit: int) -> None:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}
        self.reply(200, gzip_bomb(), headers)

    def route_laughs(self, hit: int) -> None:
        self.feed(BILLION_LAUGHS)

    def route_xxe(self, hit: int) -> None:
        self.feed(xxe_feed(self.server.secret))

    def route_charset(self, hit: int) -> None:
        self.feed(WRONG_CHARSET, "application/rss+xml; charset=utf-8")

    def route_truncated(self, hit: int) -> None:
        self.feed(TRUNCATED)

    def route_html(self, hit: int) -> None:
        self.feed(HTML_PAGE, "text/html; charset=utf-8")

    def route_empty(self, hit: int) -> None:
        self.feed(b"")


@contextmanager
def serve_hostile(secret: Path, **kwargs: Any) -> Iterator[HostileServer]:
    server = HostileServer(secret, **kwargs)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()


# What each hostile path must end in: an error kind, or "ok" for a salvaged parse.
EXPECTED = {
    "trickle": "timeout",
    "burst": "http_5xx",
    "limited": "http_429",
    "loop": "network",
    "bomb": "too_large",
    "laughs": "ok",
    "xxe": "ok",
    "charset": "ok",
    "truncated": "ok",
    "html": "not_a_feed",
    "empty": "not_a_feed",
}
