"""monitor.fetch against a real HTTP server on 127.0.0.1 (no mocks, no other hosts)."""

from __future__ import annotations

import asyncio
import functools
import gzip
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from monitor.backoff import parse_retry_after
from monitor.clients import make_client, make_http
from monitor.errors import FetchError, FetchErrorKind
from monitor.fetch import FetchResult, fetch_feed

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 26 Nov 2025 08:00:00 GMT"
BOMB_SIZE = 32 * 1024 * 1024  # inflates to 32 MiB from about 32 KiB on the wire
MAX_BYTES = 5_000_000


class FeedServer(ThreadingHTTPServer):
    """Records each request's path and headers; ``stop`` ends trickling handlers."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.stop = threading.Event()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@functools.cache
def gzip_bomb() -> bytes:
    return gzip.compress(b"\0" * BOMB_SIZE, compresslevel=9)


class Handler(BaseHTTPRequestHandler):
    server: FeedServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        route: Callable[[], None] | None = getattr(self, "route_" + self.path.strip("/"), None)
        try:
            if route is None:
                self.reply(404, b"not here")
            else:
                route()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose (caps, deadlines)

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route_feed(self) -> None:
        if self.headers.get("If-None-Match") == ETAG:
            self.reply(304)  # deliberately without validators
            return
        headers = {
            "ETag": ETAG,
            "Last-Modified": LAST_MODIFIED,
            "Content-Type": "application/rss+xml",
        }
        self.reply(200, FEED, headers)

    def route_moved(self) -> None:
        self.reply(301, headers={"Location": "/found"})

    def route_found(self) -> None:
        self.reply(302, headers={"Location": "/feed"})

    def route_loop(self) -> None:
        self.reply(302, headers={"Location": "/loop"})

    def route_to_file(self) -> None:
        self.reply(302, headers={"Location": "file:///etc/passwd"})

    def route_limited(self) -> None:
        self.reply(429, b"slow down", {"Retry-After": "120"})

    def route_unavailable(self) -> None:
        # send_response would add its own Date header; this one must be the only Date.
        self.send_response_only(503)
        self.send_header("Date", "Wed, 26 Nov 2025 10:00:00 GMT")
        self.send_header("Retry-After", "Wed, 26 Nov 2025 10:05:00 GMT")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def route_broken(self) -> None:
        self.reply(500, b"oops")

    def route_gone(self) -> None:
        self.reply(410)

    def route_bomb(self) -> None:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}
        self.reply(200, gzip_bomb(), headers)

    def route_declared_huge(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(MAX_BYTES + 1))
        self.end_headers()
        self.wfile.write(b"<rss>")  # never sends the rest; the client must not wait for it

    def route_slow(self) -> None:
        self.send_response(200)
        self.end_headers()
        # One byte every 0.1 s: each read is quick, so only the overall deadline trips.
        # It ends after 5 s so a broken deadline fails the test instead of hanging it.
        for _ in range(50):
            if self.server.stop.wait(0.1):
                break
            self.wfile.write(b"<")
            self.wfile.flush()

    def route_stall(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.server.stop.wait(5)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    srv = FeedServer()
    # A short poll interval keeps shutdown() fast (it waits for the next poll).
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stop.set()
        srv.shutdown()
        srv.server_close()
        thread.join()


def fetch(url: str, *, timeout: float = 10.0, **kwargs: Any) -> FetchResult:
    async def run() -> FetchResult:
        async with make_client(timeout=timeout) as client:
            return await fetch_feed(client, url, **kwargs)

    return asyncio.run(run())


def test_200_returns_body_and_validators(server: FeedServer) -> None:
    result = fetch(server.base + "/feed")
    assert result.status == 200
    assert result.body == FEED
    assert not result.not_modified
    assert (result.etag, result.last_modified) == (ETAG, LAST_MODIFIED)
    assert result.headers["content-type"] == "application/rss+xml"
    assert "if-none-match" not in server.requests[0][1]
    assert server.requests[0][1]["user-agent"].startswith("monitor/")


def test_304_sends_validators_and_keeps_old_ones(server: FeedServer) -> None:
    result = fetch(server.base + "/feed", etag=ETAG, last_modified=LAST_MODIFIED)
    assert result.not_modified
    assert (result.status, result.body) == (304, b"")
    assert (result.etag, result.last_modified) == (ETAG, LAST_MODIFIED)
    sent = server.requests[0][1]
    assert (sent["if-none-match"], sent["if-modified-since"]) == (ETAG, LAST_MODIFIED)


def test_redirects_are_followed_and_final_url_reported(server: FeedServer) -> None:
    result = fetch(server.base + "/moved")
    assert result.url == server.base + "/feed"
    assert result.body == FEED
    assert [path for path, _ in server.requests] == ["/moved", "/found", "/feed"]


@pytest.mark.parametrize(
    ("path", "kwargs", "kind", "status", "retry_after"),
    [
        pytest.param("/limited", {}, "http_429", 429, timedelta(seconds=120), id="429"),
        # Retry-After is measured against the response's Date, not our clock.
        pytest.param("/unavailable", {}, "http_5xx", 503, timedelta(minutes=5), id="503"),
        pytest.param("/broken", {}, "http_5xx", 500, None, id="500"),
        pytest.param("/missing", {}, "http_4xx", 404, None, id="404"),
        pytest.param("/gone", {}, "http_4xx", 410, None, id="410"),
        pytest.param("/bomb", {}, "too_large", 200, None, id="gzip-bomb"),
        pytest.param("/declared_huge", {}, "too_large", 200, None, id="content-length"),
        pytest.param("/slow", {"deadline": 1.0}, "timeout", None, None, id="slow-loris"),
        pytest.param("/stall", {"timeout": 0.3}, "timeout", None, None, id="read-timeout"),
        pytest.param("/loop", {}, "network", None, None, id="redirect-loop"),
        pytest.param("/to_file", {}, "blocked", None, None, id="redirect-to-file-url"),
    ],
)
def test_failures_map_to_fetch_error_kinds(
    server: FeedServer,
    path: str,
    kwargs: dict[str, Any],
    kind: str,
    status: int | None,
    retry_after: timedelta | None,
) -> None:
    url = server.base + path
    with pytest.raises(FetchError) as caught:
        fetch(url, max_bytes=MAX_BYTES, **kwargs)
    error = caught.value
    assert (error.url, error.kind, error.status) == (url, FetchErrorKind(kind), status)
    assert error.retry_after == retry_after


def test_connection_refused_is_network() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        fetch(f"http://127.0.0.1:{port}/feed")
    assert caught.value.kind is FetchErrorKind.NETWORK


def test_tls_handshake_failure_is_tls(server: FeedServer) -> None:
    # Speaking TLS to a plain-HTTP port fails inside the ssl module.
    with pytest.raises(FetchError) as caught:
        fetch(server.base.replace("http://", "https://") + "/feed")
    assert caught.value.kind is FetchErrorKind.TLS


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("file:///etc/passwd", id="file-url"),
        pytest.param("/etc/passwd", id="local-path"),
        pytest.param("ftp://127.0.0.1/feed", id="ftp"),
    ],
)
def test_non_http_urls_are_refused(url: str) -> None:
    with pytest.raises(FetchError) as caught:
        fetch(url)
    assert caught.value.kind is FetchErrorKind.BLOCKED


NOW = datetime(2025, 11, 26, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "now", "expected"),
    [
        pytest.param("120", NOW, timedelta(seconds=120), id="seconds"),
        pytest.param(" 30 ", NOW, timedelta(seconds=30), id="seconds-padded"),
        pytest.param("0", NOW, timedelta(0), id="zero"),
        pytest.param("-5", NOW, timedelta(0), id="negative-seconds"),
        pytest.param("Wed, 26 Nov 2025 10:05:00 GMT", NOW, timedelta(minutes=5), id="http-date"),
        pytest.param("Wednesday, 26-Nov-25 10:05:00 GMT", NOW, timedelta(minutes=5), id="rfc850"),
        pytest.param("Wed Nov 26 10:05:00 2025", NOW, timedelta(minutes=5), id="asctime"),
        pytest.param("Wed, 26 Nov 2025 09:00:00 GMT", NOW, timedelta(0), id="date-in-past"),
        pytest.param(
            "Wed, 26 Nov 2025 10:01:00 GMT",
            NOW.replace(tzinfo=None),
            timedelta(minutes=1),
            id="naive-now-is-utc",
        ),
        pytest.param("99999999999999999999", NOW, timedelta(days=365), id="absurd-capped"),
        pytest.param("soon", NOW, None, id="garbage"),
        pytest.param("1.5", NOW, None, id="fraction"),
        pytest.param("", NOW, None, id="empty"),
    ],
)
def test_parse_retry_after(value: str, now: datetime, expected: timedelta | None) -> None:
    assert parse_retry_after(value, now) == expected


def test_304_and_redirect_keep_the_connection_alive() -> None:
    """A 304's (empty) body and a short redirect body are read to their end, so the pooled
    connection is reused: one TCP connection for every poll of an unchanged feed."""

    async def go() -> tuple[int, list[int]]:
        connections = 0

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connections
            connections += 1
            try:
                while head := await reader.readuntil(b"\r\n\r\n"):
                    if head.startswith(b"GET /old"):
                        writer.write(
                            b"HTTP/1.1 301 Moved\r\nLocation: /feed\r\n"
                            b"Content-Length: 5\r\n\r\nmoved"
                        )
                    else:
                        writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "e"\r\n\r\n')
                    await writer.drain()
            except asyncio.IncompleteReadError:
                pass  # the client closed the connection
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        statuses = []
        try:
            async with make_client() as client:
                for path in ("/feed", "/old", "/feed"):
                    url = f"http://127.0.0.1:{port}{path}"
                    result = await fetch_feed(client, url, etag='"e"')
                    statuses.append(result.status)
        finally:
            server.close()
            await server.wait_closed()
        return connections, statuses

    assert asyncio.run(go()) == (1, [304, 304, 304])


def test_a_feed_never_waits_behind_slow_feeds_while_a_connection_is_free() -> None:
    """Feed requests go to the trusted client with the fewest in flight. Two clients of two
    connections; two slow feeds in flight: every fast feed is answered while they hang (taken
    in turn, both slow feeds landed on one client and each second fast feed queued behind
    them)."""

    async def go() -> tuple[list[int], int]:
        release = asyncio.Event()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while head := await reader.readuntil(b"\r\n\r\n"):
                    if head.startswith(b"GET /slow"):
                        await release.wait()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nrss")
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass  # the client closed the connection
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        http = make_http(max_connections=4, per_host=10, allow_private_links=True)
        assert len(http.shards) == 1  # two clients of two connections

        def get(path: str) -> asyncio.Task[FetchResult]:
            return asyncio.create_task(fetch_feed(http, base + path, trusted_host="127.0.0.1"))

        try:
            slow = []
            fast = []
            for _ in range(2):  # slow, fast, slow, fast: in turn, both slow ones on one client
                slow.append(get("/slow"))
                await asyncio.sleep(0.05)
                fast.append(await get("/fast"))
            fast += await asyncio.wait_for(asyncio.gather(*(get("/fast") for _ in range(4))), 5)
            hanging = sum(not t.done() for t in slow)
            release.set()
            await asyncio.gather(*slow)
        finally:
            await http.aclose()
            server.close()
            await server.wait_closed()
        return [r.status for r in fast], hanging

    assert asyncio.run(go()) == ([200] * 6, 2)
