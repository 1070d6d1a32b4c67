"""I/O: fetch one URL over HTTP with conditional GET, hard limits and the SSRF guard.

This is the only module that catches httpx exceptions; everything leaves as a FetchResult
or a FetchError. Redirects are followed here, hop by hop, so each hop can go through the
right client: hops on the host an admin typed in monitor.yaml use the trusted client, every
other hop (and every link found in content) the guarded one (monitor.guard). ``file://``
feeds are read by ``fetch_configured``, which only an admin can reach.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import zlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from monitor.backoff import parse_http_date, parse_retry_after
from monitor.clients import Http
from monitor.errors import FetchError, FetchErrorKind
from monitor.guard import BlockedAddressError
from monitor.inflate import BodyTooLarge, Inflater, UnsupportedEncoding

log = logging.getLogger(__name__)


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
# A redirect's or a 304's body is read (and dropped) up to this, so the connection can be
# reused: httpcore closes a connection whose response was not read to its end.
_DRAIN_BYTES = 65_536


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A fetched body (status 2xx) or a not-modified answer (304)."""

    url: str  # final URL after redirects
    status: int
    body: bytes  # b"" on 304
    headers: dict[str, str]  # lower-cased response headers
    etag: str | None
    last_modified: str | None
    # True when every redirect hop was permanent (301/308): ``url`` is the feed's new home.
    moved: bool = False

    @property
    def not_modified(self) -> bool:
        """True when the server answered 304 and the stored copy is current."""
        return self.status == 304


async def fetch_feed(
    http: Http | httpx.AsyncClient,
    url: str,
    *,
    trusted_host: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = 5_000_000,
    deadline: float = 30.0,
    max_redirects: int = 5,
) -> FetchResult:
    """GET ``url`` conditionally, within ``deadline`` seconds and ``max_bytes`` decoded bytes.

    Hops whose host is ``trusted_host`` use the trusted client, all others the guarded one.
    Waiting for a per-host slot does not count against the deadline; the hops do.
    """
    if isinstance(http, httpx.AsyncClient):
        http = Http.single(http)
    current = _checked_url(url)  # parsed once: httpx.URL costs ~80 µs a time
    request_headers: dict[str, str] = {}
    if etag:
        request_headers["If-None-Match"] = etag
    if last_modified:
        request_headers["If-Modified-Since"] = last_modified
    loop = asyncio.get_running_loop()
    budget = deadline
    seen = {str(current)}
    permanent = True
    for _ in range(max_redirects + 1):
        async with http.hosts.slot(_host_port(current)):
            with http.client_for(current, trusted_host) as client:
                started = loop.time()
                try:
                    hop = await _hop(client, url, current, request_headers, max_bytes, budget)
                finally:
                    budget -= loop.time() - started
        if isinstance(hop, FetchResult):
            result = hop
            if permanent and str(current) != url:
                result = replace(result, moved=True)
            log.debug(
                "fetched url=%s final_url=%s status=%s bytes=%d",
                url,
                result.url,
                result.status,
                len(result.body),
            )
            return result
        status, target = hop
        permanent = permanent and status in _PERMANENT
        try:
            nxt = current.join(target)
        except httpx.InvalidURL as e:
            raise FetchError(url, FetchErrorKind.BLOCKED, f"bad redirect: {e}") from e
        if nxt.scheme not in ("http", "https"):
            raise FetchError(url, FetchErrorKind.BLOCKED, f"redirect to {nxt.scheme!r} URL")
        if str(nxt) in seen:
            raise FetchError(url, FetchErrorKind.NETWORK, f"redirect loop at {nxt}")
        seen.add(str(nxt))
        current = nxt
    raise FetchError(url, FetchErrorKind.NETWORK, f"more than {max_redirects} redirects")


async def _hop(
    client: httpx.AsyncClient,
    url: str,
    current: httpx.URL,
    headers: dict[str, str],
    max_bytes: int,
    budget: float,
) -> FetchResult | tuple[int, str]:
    """One request: a result, or (status, Location) for a redirect to follow."""
    try:
        # httpx timeouts apply per read, so a server trickling bytes never trips them;
        # only an overall deadline stops a slow-loris (libraries.md §2).
        async with (
            asyncio.timeout(max(budget, 0.0)),
            client.stream("GET", current, headers=headers) as response,
        ):
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                # a declared short body only: a trickled one must not eat the deadline
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) <= _DRAIN_BYTES:
                    await _drain(response)
                return response.status_code, location
            return await _read_response(url, response, max_bytes)
    except TimeoutError as e:
        raise FetchError(url, FetchErrorKind.TIMEOUT, "overall deadline passed") from e
    except httpx.TimeoutException as e:
        raise FetchError(url, FetchErrorKind.TIMEOUT, _describe(e)) from e
    except httpx.UnsupportedProtocol as e:
        raise FetchError(url, FetchErrorKind.BLOCKED, _describe(e)) from e
    except httpx.HTTPError as e:
        # ConnectError, NetworkError, RemoteProtocolError, DecodingError...
        if _caused_by(e, BlockedAddressError):
            raise FetchError(url, FetchErrorKind.BLOCKED, _describe(e)) from e
        kind = FetchErrorKind.TLS if _is_tls_error(e) else FetchErrorKind.NETWORK
        raise FetchError(url, kind, _describe(e)) from e


async def fetch_configured(
    http: Http | httpx.AsyncClient,
    url: str,
    *,
    trusted_host: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = 5_000_000,
    deadline: float = 30.0,
    max_redirects: int = 5,
) -> FetchResult:
    """Fetch a feed URL typed in monitor.yaml: http(s) as ``fetch_feed``, or a local file.

    ``trusted_host`` defaults to the URL's own host: an admin typed it.
    """
    if not url.startswith("file://"):
        return await fetch_feed(
            http,
            url,
            trusted_host=trusted_host if trusted_host is not None else _host(url),
            etag=etag,
            last_modified=last_modified,
            max_bytes=max_bytes,
            deadline=deadline,
            max_redirects=max_redirects,
        )
    path = Path(url2pathname(urlsplit(url).path))
    try:
        with path.open("rb") as f:
            body = f.read(max_bytes + 1)
    except OSError as e:
        raise FetchError(url, FetchErrorKind.NETWORK, e.strerror or str(e)) from e
    if len(body) > max_bytes:
        raise FetchError(url, FetchErrorKind.TOO_LARGE, f"over {max_bytes} bytes")
    return FetchResult(url, 200, body, {"content-type": "application/xml"}, None, None)


def _checked_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as e:
        raise FetchError(url, FetchErrorKind.BLOCKED, f"invalid URL: {e}") from e
    if parsed.scheme not in ("http", "https"):
        raise FetchError(url, FetchErrorKind.BLOCKED, f"unsupported scheme {parsed.scheme!r}")
    return parsed


def _host_port(u: httpx.URL) -> str:
    """host:port, the unit of politeness (as clients.host_key, without parsing again)."""
    return f"{u.host}:{u.port or (443 if u.scheme == 'https' else 80)}"


async def _read_response(url: str, response: httpx.Response, max_bytes: int) -> FetchResult:
    headers = {k.lower(): v for k, v in response.headers.items()}
    final_url = str(response.url)
    if response.status_code == 304:
        await _drain(response)  # empty by definition; reading it keeps the connection alive
        # RFC 9110 §15.4.5 lets a 304 omit validators; keep the ones we sent.
        sent = response.request.headers
        return FetchResult(
            url=final_url,
            status=304,
            body=b"",
            headers=headers,
            etag=headers.get("etag") or sent.get("if-none-match"),
            last_modified=headers.get("last-modified") or sent.get("if-modified-since"),
        )
    _raise_for_status(url, response.status_code, headers)
    body = await _read_capped(url, response, headers, max_bytes)
    return FetchResult(
        url=final_url,
        status=response.status_code,
        body=body,
        headers=headers,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
    )


async def _drain(response: httpx.Response) -> None:
    """Read a body we do not use to its end, up to _DRAIN_BYTES on the wire (then the
    connection is closed instead, as before)."""
    read = 0
    async for raw in response.aiter_raw():
        read += len(raw)
        if read > _DRAIN_BYTES:
            return


def _raise_for_status(url: str, status: int, headers: dict[str, str]) -> None:
    if status < 400:
        return
    retry_after: timedelta | None = None
    if status in (429, 503) and "retry-after" in headers:
        # Measure against the server's own clock when it sent one, so skew does not matter.
        now = parse_http_date(headers.get("date", "")) or datetime.now(UTC)
        retry_after = parse_retry_after(headers["retry-after"], now)
    if status == 429:
        kind = FetchErrorKind.HTTP_429
    elif status >= 500:
        kind = FetchErrorKind.HTTP_5XX
    else:
        kind = FetchErrorKind.HTTP_4XX
    raise FetchError(url, kind, f"HTTP {status}", status=status, retry_after=retry_after)


async def _read_capped(
    url: str, response: httpx.Response, headers: dict[str, str], max_bytes: int
) -> bytes:
    too_large = f"body larger than {max_bytes} bytes"
    declared = headers.get("content-length", "")
    # Without content-encoding the declared length is the decoded length: refuse early.
    if "content-encoding" not in headers and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(url, FetchErrorKind.TOO_LARGE, too_large, status=response.status_code)
    try:
        inflater = Inflater(headers.get("content-encoding", ""), max_bytes)
    except UnsupportedEncoding as e:
        raise FetchError(url, FetchErrorKind.NETWORK, str(e), status=response.status_code) from e
    chunks: list[bytes] = []
    try:
        # Raw bytes, decoded here with a bound on each step: httpx's own decoding would
        # inflate a whole read of a gzip bomb (64 KiB → 64 MiB) before we could count it.
        async for raw in response.aiter_raw():
            chunks.append(inflater.feed(raw))
        chunks.append(inflater.flush())
    except BodyTooLarge as e:
        raise FetchError(
            url, FetchErrorKind.TOO_LARGE, too_large, status=response.status_code
        ) from e
    except zlib.error as e:
        raise FetchError(
            url,
            FetchErrorKind.NETWORK,
            f"corrupt compressed body: {e}",
            status=response.status_code,
        ) from e
    return b"".join(chunks)


def _host(url: str) -> str | None:
    try:
        return httpx.URL(url).host or None
    except httpx.InvalidURL:
        return None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _is_tls_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):  # includes SSLCertVerificationError
            return True
        text = str(current).upper()
        if "SSL" in text or "CERTIFICATE" in text:
            return True
        current = current.__cause__ or current.__context__
    return False


def _describe(exc: BaseException) -> str:
    # Some httpx errors stringify to "" (e.g. bare ReadTimeout); fall back to the class name.
    return str(exc) or type(exc).__name__
