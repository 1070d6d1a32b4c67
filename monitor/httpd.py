"""I/O: a tiny HTTP responder on the daemon's own asyncio loop, for /healthz and /metrics.

Off unless ``http.listen`` is set, and loopback-only unless ``http.allow_remote`` says
otherwise: it has no authentication. GET and HEAD only, one request per connection, no
request bodies, headers capped, a deadline on reading the request and on answering, a few
requests at a time. What each path answers is a coroutine handed in by the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus

log = logging.getLogger(__name__)

READ_DEADLINE = 5.0  # seconds to send the request line and headers
ANSWER_DEADLINE = 15.0  # seconds for a handler (a database query) to answer
MAX_HEADER_LINES = 50
MAX_LINE = 8192
MAX_CONCURRENT = 4


@dataclass(frozen=True, slots=True)
class Listen:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(text: str, *, allow_remote: bool = False) -> Listen:
    """ "127.0.0.1:9464", "[::1]:9464" or "localhost:9464" → Listen; ValueError otherwise.
    A non-loopback host needs ``allow_remote``: the endpoint has no authentication."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected host:port such as 127.0.0.1:9464, got {text!r}")
    host = host.removeprefix("[").removesuffix("]")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"port must be a number, got {port_text!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"port out of range: {port}")
    if not allow_remote and not _is_loopback(host):
        raise ValueError(
            f"{host} is not a loopback address; the endpoint has no authentication "
            "(set allow_remote: true to bind it anyway, behind a firewall)"
        )
    return Listen(host, port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


Handler = Callable[[], Awaitable[Response]]


class Endpoint:
    """Serves ``routes`` (path → handler) on ``listen`` until stopped."""

    def __init__(self, listen: Listen, routes: Mapping[str, Handler]) -> None:
        self.listen = listen
        self.routes = dict(routes)
        self._server: asyncio.Server | None = None
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)

    @property
    def port(self) -> int:
        """The bound port (useful when ``listen.port`` was 0)."""
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Bind; raises OSError if the address is taken or not ours."""
        self._server = await asyncio.start_server(
            self._serve, self.listen.host, self.listen.port, limit=MAX_LINE
        )
        log.info("http endpoint listening address=%s paths=%s", self.listen, ",".join(self.routes))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method = ""
        try:
            async with asyncio.timeout(READ_DEADLINE):
                method, path = await _read_request(reader)
            response = await self._answer(method, path)
        except (TimeoutError, ValueError, asyncio.LimitOverrunError, ConnectionError) as e:
            log.debug("http request rejected error=%s", type(e).__name__)
            response = Response(HTTPStatus.BAD_REQUEST, b"bad request\n")
        try:
            writer.write(_head(response) + (b"" if method == "HEAD" else response.body))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, method: str, path: str) -> Response:
        if method not in ("GET", "HEAD"):
            return Response(HTTPStatus.METHOD_NOT_ALLOWED, b"GET only\n")
        handler = self.routes.get(path)
        if handler is None:
            return Response(HTTPStatus.NOT_FOUND, b"not found: try /healthz or /metrics\n")
        async with self._slots:
            try:
                return await asyncio.wait_for(handler(), ANSWER_DEADLINE)
            except TimeoutError:
                return Response(HTTPStatus.SERVICE_UNAVAILABLE, b"timed out\n")
            except Exception:
                log.exception("http handler crashed path=%s", path)
                return Response(HTTPStatus.INTERNAL_SERVER_ERROR, b"internal error\n")


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str]:
    line = (await reader.readline()).decode("latin-1").strip()
    parts = line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise ValueError("malformed request line")
    for _ in range(MAX_HEADER_LINES):
        if (await reader.readline()) in (b"\r\n", b"\n", b""):
            break
    else:
        raise ValueError("too many header lines")
    return parts[0], parts[1].split("?", 1)[0]


def _head(r: Response) -> bytes:
    reason = HTTPStatus(r.status).phrase
    return (
        f"HTTP/1.1 {r.status} {reason}\r\nContent-Type: {r.content_type}\r\n"
        f"Content-Length: {len(r.body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")
