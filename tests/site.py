"""A programmable web site on 127.0.0.1: tests register a reply per path and read the log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering


Route = Callable[[Request], Reply]


class Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.log: list[Request] = []
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, reply: Reply | Route) -> None:
        self.routes[path] = reply if callable(reply) else (lambda _req, r=reply: r)

    def paths(self) -> list[str]:
        with self.lock:
            return [r.path for r in self.log]

    def hits(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.log if r.path == path]


class _Handler(BaseHTTPRequestHandler):
    server: Site

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        request = Request(
            parts.path, query, {k.lower(): v for k, v in self.headers.items()}, time.monotonic()
        )
        with self.server.lock:
            self.server.log.append(request)
            self.server.active += 1
            self.server.max_active = max(self.server.max_active, self.server.active)
        try:
            route = self.server.routes.get(parts.path)
            reply = route(request) if route else Reply(404, b"not here")
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with self.server.lock:
                self.server.active -= 1


@contextmanager
def serve_site() -> Iterator[Site]:
    site = Site()
    thread = threading.Thread(target=site.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.shutdown()
        site.server_close()
        thread.join()


# ---------------------------------------------------------------- a daemon's Deps in-process

RSS_HEAD = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'


def rss(*items: tuple[str, str, str]) -> bytes:
    """An RSS body from (guid, title, description) triples."""
    from xml.sax.saxutils import escape

    body = "".join(
        f'<item><guid isPermaLink="false">{escape(g)}</guid><title>{escape(t)}</title>'
        f"<description>{escape(d)}</description></item>"
        for g, t, d in items
    )
    return (RSS_HEAD + body + "</channel></rss>").encode()


def write_config(tmp_path: Any, feeds: list[str], *extra: str) -> Any:
    """monitor.yaml with the test watchlist; ``feeds`` are YAML flow mappings, one a line."""
    from tests.conftest import WATCHLIST

    (tmp_path / "watchlists").mkdir(parents=True, exist_ok=True)
    (tmp_path / "watchlists" / "syria.yaml").write_text(WATCHLIST, encoding="utf-8")
    lines = ["database: sqlite:///var/m.db", "watchlists: [watchlists/syria.yaml]", *extra]
    lines += ["feeds:"] + [f"  - {f}" for f in feeds] if feeds else []
    path = tmp_path / "monitor.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Running:
    """``async with Running(path) as deps``: a store and Deps as the daemon builds them."""

    def __init__(self, path: Any) -> None:
        self.path = path

    async def __aenter__(self) -> Any:
        import asyncio

        from monitor import app
        from monitor.config import load_config

        config = load_config(self.path)
        self.store = await asyncio.to_thread(app.open_store, config)
        self.deps = app.build_deps(config, self.store)
        return self.deps

    async def __aexit__(self, *exc: Any) -> None:
        await self.deps.http.aclose()
        self.store.engine.dispose()


async def poll_all(deps: Any) -> Any:
    """Make every feed due and run one poll tick, like ``monitor poll --once``."""
    import asyncio

    from monitor.pipeline import poll_due

    await asyncio.to_thread(deps.store.make_all_due, deps.clock())
    return await poll_due(deps)
