"""I/O: full text for items too short to judge (a title and a link), cached per URL.

The article link is third-party input, so it is fetched through the guarded client (unless
``fetch.allow_private_links``) with its own size cap and deadline; trafilatura extracts the
main text offline in a thread (it never fetches: we never call ``trafilatura.fetch_url``,
which has no SSRF guard). Successes and failures are remembered in the ``articles`` table,
failures until a retry time (Retry-After when the server gave one).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from monitor.clients import Http
from monitor.errors import FetchError, MonitorError
from monitor.fetch import fetch_feed
from monitor.models import Entry
from monitor.pages import decode_html
from monitor.parse import MAX_TEXT_CHARS
from monitor.store import Store

log = logging.getLogger(__name__)

RETRY_FAILED = timedelta(hours=6)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


@dataclass(frozen=True, slots=True)
class FullTextSettings:
    min_chars: int = 200  # items with less text than this get their article fetched
    max_bytes: int = 2_000_000
    deadline: float = 20.0
    per_poll: int = 20  # at most this many article fetches per feed poll
    max_redirects: int = 5


def needs_full_text(entry: Entry, min_chars: int) -> bool:
    """Too short to judge, and there is an article to read."""
    return entry.link is not None and len(entry.text) < min_chars


def extract_text(html: bytes, url: str, content_type: str = "") -> str | None:
    """The article's main text (CPU only); None when there is none."""
    import trafilatura  # imported on first use: it is large and only needed here

    text = trafilatura.extract(
        decode_html(html, content_type),
        url=url,
        favor_precision=True,
        include_comments=False,
        include_tables=False,
    )
    return text.strip()[:MAX_TEXT_CHARS] if text and text.strip() else None


async def article_text(
    http: Http, store: Store, url: str, now: datetime, settings: FullTextSettings
) -> str | None:
    """The cached or freshly fetched text of ``url``; None when it cannot be had (yet)."""
    cached = await asyncio.to_thread(store.article, url)
    if cached is not None and (cached.text or (cached.retry_at and cached.retry_at > now)):
        return cached.text
    text: str | None = None
    error_kind: str | None = None
    retry_at: datetime | None = None
    try:
        result = await fetch_feed(
            http,
            url,
            trusted_host=None,  # links in content are never trusted
            max_bytes=settings.max_bytes,
            deadline=settings.deadline,
            max_redirects=settings.max_redirects,
        )
        content_type = result.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in _HTML_TYPES:
            error_kind = "not_html"
        else:
            text = await asyncio.to_thread(
                extract_text, result.body, result.url, result.headers.get("content-type", "")
            )
            error_kind = None if text else "no_text"
    except FetchError as e:
        error_kind = e.kind.value
        retry_at = now + (e.retry_after or RETRY_FAILED)
        log.warning("full text fetch failed url=%s kind=%s error=%s", url, e.kind, e.detail)
    except Exception as e:  # an extractor crash costs this article, never the poll
        error_kind = "extract_failed"
        log.warning("full text extraction failed url=%s error=%r", url, e)
    if text is None and retry_at is None:
        retry_at = now + RETRY_FAILED
    await asyncio.to_thread(
        store.save_article, url, now, text=text, error_kind=error_kind, retry_at=retry_at
    )
    return text


async def enrich(
    http: Http,
    store: Store,
    items: list[tuple[int, Entry]],
    now: datetime,
    settings: FullTextSettings,
) -> list[tuple[int, Entry]]:
    """Items with their article text appended where they were too short to judge."""
    wanted = [i for i, (_, e) in enumerate(items) if needs_full_text(e, settings.min_chars)]
    if len(wanted) > settings.per_poll:
        log.info("full text capped wanted=%d fetched=%d", len(wanted), settings.per_poll)
        wanted = wanted[: settings.per_poll]
    if not wanted:
        return items

    async def one(index: int) -> str | None:
        entry = items[index][1]
        assert entry.link is not None
        try:
            return await article_text(http, store, entry.link, now, settings)
        except MonitorError as e:  # e.g. the cache table is unreachable
            log.warning("full text skipped url=%s error=%s", entry.link, e)
            return None

    texts = await asyncio.gather(*(one(i) for i in wanted))
    out = list(items)
    for index, text in zip(wanted, texts, strict=True):
        if text:
            item_id, entry = out[index]
            joined = f"{entry.text}\n{text}" if entry.text else text
            out[index] = (item_id, replace(entry, text=joined[:MAX_TEXT_CHARS]))
    return out
