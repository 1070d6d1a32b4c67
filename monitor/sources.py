"""I/O: fetch one configured source and turn it into Entries, whatever its kind.

    fetch (conditional GET, limits, guard) ─► 304 or same body as last time? stop, no parsing
      ─► parse by kind (feed: RSS/Atom/RDF/JSON Feed; html: listing; telegram: preview page)
      ─► html/telegram: page back while nothing on the page was seen before (catch-up)

The feed's host as typed in monitor.yaml is trusted (its redirects on that host too); every
other host goes through the SSRF guard. Parsing is CPU work: it runs in a thread, or in the
daemon's worker processes (``parse``, monitor.workers).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.clients import Http
from monitor.errors import MonitorError
from monitor.fetch import FetchResult, fetch_configured
from monitor.models import Entry, FeedKind, FeedSpec
from monitor.pages import Page, parse_listing, parse_telegram
from monitor.parse import parse_feed

log = logging.getLogger(__name__)

KnownKeys = Callable[[list[str]], Awaitable[set[str]]]
# (spec, base URL, body, headers) -> Page: in a thread by default, a worker process in the daemon
Parser = Callable[[FeedSpec, str, bytes, Mapping[str, str]], Awaitable[Page]]


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-fetch limits, from monitor.yaml's poll: and fetch: blocks."""

    max_bytes: int = 5_000_000
    deadline: float = 30.0
    max_redirects: int = 5
    max_pages: int = 5


@dataclass(frozen=True, slots=True)
class Seen:
    """What the database remembers of the last poll of this source."""

    fetch_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Harvest:
    """One poll's yield. ``entries`` is None when nothing was parsed (304, same body)."""

    result: FetchResult  # the first page's fetch: status, validators, final URL, moved
    entries: list[Entry] | None
    body_hash: str | None  # the first page's hash, when it was parsed
    pages: int = 1


def fetch_url_of(spec: FeedSpec, seen: Seen) -> str:
    """Where to fetch: the permanent redirect target if any, else the configured URL."""
    if spec.kind is FeedKind.SEARCH:
        return spec.source_url  # the query may change with the watchlist
    return seen.fetch_url or spec.source_url


def trusted_host(spec: FeedSpec) -> str | None:
    """The host an admin typed: trusted as typed, with its same-host redirects."""
    try:
        return urlsplit(spec.source_url).hostname
    except ValueError:
        return None


def body_digest(spec: FeedSpec, body: bytes) -> str:
    # The parsing settings are part of the hash: a new selector must re-read the same page.
    h = hashlib.sha256(f"{spec.kind}\0{spec.selector}\0{spec.next_page}\0".encode())
    h.update(body)
    return h.hexdigest()


def parse_page(spec: FeedSpec, url: str, body: bytes, headers: Mapping[str, str]) -> Page:
    """Parse one fetched body by the source's kind (CPU only)."""
    content_type = headers.get("content-type", "")
    if spec.kind is FeedKind.HTML:
        assert spec.selector is not None  # config validation requires it
        return parse_listing(
            url, body, spec.selector, content_type=content_type, older_selector=spec.next_page
        )
    if spec.kind is FeedKind.TELEGRAM:
        return parse_telegram(url, body, content_type=content_type)
    return Page(parse_feed(url, body, headers))


async def parse_in_thread(
    spec: FeedSpec, url: str, body: bytes, headers: Mapping[str, str]
) -> Page:
    """``parse_page`` off the event loop, in a thread (tests, and tiny setups)."""
    return await asyncio.to_thread(parse_page, spec, url, body, headers)


async def harvest(
    http: Http,
    spec: FeedSpec,
    seen: Seen,
    limits: Limits,
    known: KnownKeys | None = None,
    parse: Parser = parse_in_thread,
) -> Harvest:
    """Fetch and parse a source; with ``known`` (the feed has items already), listing and
    Telegram sources page back until they reach an item seen before, up to max_pages.
    ``parse`` runs the CPU part (the daemon passes its worker processes)."""
    url = fetch_url_of(spec, seen)
    result = await fetch_configured(
        http,
        url,
        trusted_host=trusted_host(spec),
        etag=seen.etag,
        last_modified=seen.last_modified,
        max_bytes=limits.max_bytes,
        deadline=limits.deadline,
        max_redirects=limits.max_redirects,
    )
    if result.not_modified:
        return Harvest(result, None, None)
    digest = body_digest(spec, result.body)
    if digest == seen.body_hash:
        log.debug("body unchanged, not parsed url=%s", url)
        return Harvest(result, None, None)
    # Feeds parse against the configured URL: relative GUIDs resolve against it, and a
    # redirect must not change every item's key. Pages resolve links where they really are.
    base = result.url if spec.kind in (FeedKind.HTML, FeedKind.TELEGRAM) else spec.source_url
    page = await parse(spec, base, result.body, result.headers)
    entries = list(page.entries)
    pages = 1
    if known is not None and page.older and entries:
        more, pages = await _page_back(http, spec, page, limits, known, {url, result.url}, parse)
        entries.extend(more)
    return Harvest(result, entries, digest, pages)


async def _page_back(
    http: Http,
    spec: FeedSpec,
    first: Page,
    limits: Limits,
    known: KnownKeys,
    visited: set[str],
    parse: Parser,
) -> tuple[list[Entry], int]:
    """Older pages until one holds a known item, a page is empty, or max_pages is reached."""
    more: list[Entry] = []
    page, pages = first, 1
    while page.older and pages < limits.max_pages and page.older not in visited:
        if await known([e.key for e in page.entries]):
            break
        url = page.older
        visited.add(url)
        try:
            result = await fetch_configured(
                http,
                url,
                trusted_host=trusted_host(spec),
                max_bytes=limits.max_bytes,
                deadline=limits.deadline,
                max_redirects=limits.max_redirects,
            )
            page = await parse(spec, result.url, result.body, result.headers)
        except MonitorError as e:
            # The newest page was read; an older one failing costs only the catch-up.
            log.warning("catch-up page failed url=%s error=%s", url, e)
            break
        pages += 1
        more.extend(page.entries)
        if not page.entries:
            break
    if pages > 1:
        log.info("caught up source=%s pages=%d older_items=%d", spec.name, pages, len(more))
    return more, pages
