"""Pure: the MonitorError tree. Every error names the resource it is about.

    MonitorError
     ├── ConfigError      file, line, key            (refuse to start / keep old config)
     ├── FetchError       url, kind, status, retry_after
     ├── ParseError       url
     ├── StoreError       what
     └── DeliveryError    channel (redacted), retryable

Library exceptions are translated into these at the boundary where the library is
called (fetch, parse, store, notify) and nowhere else.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class MonitorError(Exception):
    """Root of every error monitor raises on purpose."""


class ConfigError(MonitorError, ValueError):
    """A config or watchlist file is invalid; names file, line and key."""

    def __init__(self, file: str, message: str, *, line: int | None = None, key: str = "") -> None:
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


class FetchErrorKind(StrEnum):
    TIMEOUT = "timeout"
    NETWORK = "network"
    TLS = "tls"
    HTTP_4XX = "http_4xx"
    HTTP_429 = "http_429"
    HTTP_5XX = "http_5xx"
    TOO_LARGE = "too_large"
    NOT_A_FEED = "not_a_feed"
    BLOCKED = "blocked"


class FetchError(MonitorError):
    """Fetching a URL failed; kind is a closed vocabulary stored on the feed."""

    def __init__(
        self,
        url: str,
        kind: FetchErrorKind,
        detail: str = "",
        *,
        status: int | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        self.url = url
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        self.detail = detail
        super().__init__(f"{url}: {kind}" + (f" ({detail})" if detail else ""))


class ParseError(MonitorError):
    """A fetched body is not a feed we can read."""

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        super().__init__(f"{url}: {detail}")


class StoreError(MonitorError):
    """The database refused or could not be reached. ``refused``: it refused the values
    written (a constraint, a value it cannot hold, a size limit), so other values may pass
    where these did not; otherwise it was unreachable or busy, and nothing would."""

    def __init__(self, detail: str, *, refused: bool = False) -> None:
        self.refused = refused
        super().__init__(detail)


class DeliveryError(MonitorError):
    """A channel refused a message; channel is already redacted."""

    def __init__(self, channel: str, detail: str, *, retryable: bool = True) -> None:
        self.channel = channel
        self.retryable = retryable
        super().__init__(f"{channel}: {detail}")
