"""I/O: fetch one feed over HTTP with conditional GET and hard limits.

This is the only module that catches httpx exceptions; everything leaves as a FetchResult
or a FetchError. ``fetch_configured`` also reads ``file://`` feeds, which only an admin can
name in monitor.yaml; links found in feed content never go through it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from monitor.errors import FetchError, FetchErrorKind

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "monitor/0.1 (+defence-meeting watcher)"

# A server may ask for a pause, but not park a feed forever; backoff applies its own
# ceiling on top. The clamp also keeps timedelta() from overflowing on absurd values.
_MAX_RETRY_AFTER = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A fetched feed body (status 2xx) or a not-modified answer (304)."""

    url: str  # final URL after redirects
    status: int
    body: bytes  # b"" on 304
    headers: dict[str, str]  # lower-cased response headers
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        """True when the server answered 304 and the stored copy is current."""
        return self.status == 304


def make_client(
    *,
    timeout: float = 10.0,
    user_agent: str = DEFAULT_USER_AGENT,
    max_connections: int = 20,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """Build the shared AsyncClient; pass ``transport`` to plug in the SSRF guard later."""
    return httpx.AsyncClient(
        # httpx defaults to not following redirects; feeds move often (libraries.md §2).
        follow_redirects=True,
        max_redirects=5,
        # Proxy variables from the environment must not bypass the SSRF guard (libraries.md §7).
        trust_env=False,
        # Per-read timeouts only; fetch_feed adds an overall deadline (slow-loris).
        timeout=httpx.Timeout(timeout, connect=5.0),
        # Ignored by httpx when a custom transport is given: that transport owns its pool.
        limits=httpx.Limits(max_connections=max_connections),
        headers={"User-Agent": user_agent},
        transport=transport,
    )


def parse_retry_after(value: str, now: datetime) -> timedelta | None:
    """Turn a Retry-After value (seconds or HTTP-date, RFC 9110 §10.2.3) into a delay."""
    value = value.strip()
    if not value:
        return None
    if value.lstrip("-").isdigit():
        # RFC 9110 only allows non-negative digits; a negative delay means "now".
        seconds = min(max(int(value), 0), int(_MAX_RETRY_AFTER.total_seconds()))
        return timedelta(seconds=seconds)
    when = _parse_http_date(value)
    if when is None:
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return min(max(when - now, timedelta(0)), _MAX_RETRY_AFTER)


def _parse_http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # "-0000" and obsolete zone names come back naive; HTTP-dates are always GMT.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


async def fetch_feed(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = 5_000_000,
    deadline: float = 30.0,
) -> FetchResult:
    """GET ``url`` conditionally, within ``deadline`` seconds and ``max_bytes`` decoded bytes."""
    _check_scheme(url)
    request_headers: dict[str, str] = {}
    if etag:
        request_headers["If-None-Match"] = etag
    if last_modified:
        request_headers["If-Modified-Since"] = last_modified
    try:
        # httpx timeouts apply per read, so a server trickling bytes never trips them;
        # only an overall deadline stops a slow-loris (libraries.md §2).
        async with (
            asyncio.timeout(deadline),
            client.stream("GET", url, headers=request_headers) as response,
        ):
            result = await _read_response(url, response, etag, last_modified, max_bytes)
    except TimeoutError as e:
        raise FetchError(url, FetchErrorKind.TIMEOUT, f"not done within {deadline}s") from e
    except httpx.TimeoutException as e:
        raise FetchError(url, FetchErrorKind.TIMEOUT, _describe(e)) from e
    except httpx.UnsupportedProtocol as e:
        # A redirect to a non-http(s) scheme: refused like any other unsafe target.
        raise FetchError(url, FetchErrorKind.BLOCKED, _describe(e)) from e
    except httpx.HTTPError as e:
        # ConnectError, NetworkError, RemoteProtocolError, TooManyRedirects, DecodingError...
        kind = FetchErrorKind.TLS if _is_tls_error(e) else FetchErrorKind.NETWORK
        raise FetchError(url, kind, _describe(e)) from e
    log.debug(
        "fetched url=%s final_url=%s status=%s bytes=%d",
        url,
        result.url,
        result.status,
        len(result.body),
    )
    return result


async def fetch_configured(
    client: httpx.AsyncClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = 5_000_000,
    deadline: float = 30.0,
) -> FetchResult:
    """Fetch a feed URL typed in monitor.yaml: http(s) as ``fetch_feed``, or a local file."""
    if not url.startswith("file://"):
        return await fetch_feed(
            client,
            url,
            etag=etag,
            last_modified=last_modified,
            max_bytes=max_bytes,
            deadline=deadline,
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


def _check_scheme(url: str) -> None:
    try:
        scheme = httpx.URL(url).scheme
    except httpx.InvalidURL as e:
        raise FetchError(url, FetchErrorKind.BLOCKED, f"invalid URL: {e}") from e
    if scheme not in ("http", "https"):
        raise FetchError(url, FetchErrorKind.BLOCKED, f"unsupported scheme {scheme!r}")


async def _read_response(
    url: str,
    response: httpx.Response,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
) -> FetchResult:
    headers = {k.lower(): v for k, v in response.headers.items()}
    final_url = str(response.url)
    if response.status_code == 304:
        # RFC 9110 §15.4.5 lets a 304 omit validators; keep the ones we sent.
        return FetchResult(
            url=final_url,
            status=304,
            body=b"",
            headers=headers,
            etag=headers.get("etag") or etag,
            last_modified=headers.get("last-modified") or last_modified,
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


def _raise_for_status(url: str, status: int, headers: dict[str, str]) -> None:
    if status < 400:
        return
    retry_after: timedelta | None = None
    if status in (429, 503) and "retry-after" in headers:
        # Measure against the server's own clock when it sent one, so skew does not matter.
        now = _parse_http_date(headers.get("date", "")) or datetime.now(UTC)
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
    chunks: list[bytes] = []
    size = 0
    # aiter_bytes yields *decoded* bytes, so counting here also stops gzip bombs.
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(url, FetchErrorKind.TOO_LARGE, too_large, status=response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


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
