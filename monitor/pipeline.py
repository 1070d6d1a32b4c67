"""I/O shell: one poll of one feed, and one drain of the outbox. Decides nothing itself.

    claim due feeds | fetch | parse | store.add_items (only new) | match | store.record_meeting
    claim deliveries | render | notify | mark sent / retry later / give up

``poll_feed`` is the per-feed error wall: whatever goes wrong is recorded on the feed and
logged once, and the other feeds carry on.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from monitor.backoff import next_poll_at, next_retry_at
from monitor.config import Config
from monitor.errors import FetchError, MonitorError
from monitor.fetch import fetch_configured
from monitor.match import Matcher
from monitor.models import CONSOLE, Entry, Event, SubscriberSpec
from monitor.notify import Notifier
from monitor.parse import parse_feed
from monitor.render import render
from monitor.store import FeedState, Store

log = logging.getLogger(__name__)

FEED_LEASE = timedelta(minutes=5)
DELIVERY_LEASE = timedelta(minutes=2)
CONSOLE_SUBSCRIBER = SubscriberSpec("console", (CONSOLE,))


def utcnow() -> datetime:
    return datetime.now(UTC)


def subscribers_of(config: Config) -> tuple[SubscriberSpec, ...]:
    """Configured subscribers, or the console so a first run shows its alerts."""
    return config.subscribers or (CONSOLE_SUBSCRIBER,)


@dataclass
class Deps:
    """What the shell needs; built once by app and rebuilt on reload."""

    config: Config
    store: Store
    client: httpx.AsyncClient
    matcher: Matcher
    notifier: Notifier
    owner: str
    clock: Callable[[], datetime] = utcnow
    rand: Callable[[], float] = field(default=random.random)


@dataclass(frozen=True, slots=True)
class PollSummary:
    feeds: int = 0
    failed: int = 0
    new_items: int = 0
    new_events: int = 0


async def poll_due(deps: Deps, limit: int = 500) -> PollSummary:
    """Claim the due feeds and poll them with bounded concurrency."""
    now = deps.clock()
    feeds = await asyncio.to_thread(deps.store.claim_due_feeds, now, limit, deps.owner, FEED_LEASE)
    if not feeds:
        return PollSummary()
    gate = asyncio.Semaphore(deps.config.poll.concurrency)

    async def one(feed: FeedState) -> tuple[bool, int, int]:
        async with gate:
            return await poll_feed(deps, feed)

    results = await asyncio.gather(*(one(f) for f in feeds))
    summary = PollSummary(
        feeds=len(feeds),
        failed=sum(1 for ok, _, _ in results if not ok),
        new_items=sum(n for _, n, _ in results),
        new_events=sum(e for _, _, e in results),
    )
    log.info(
        "poll tick feeds=%d failed=%d new_items=%d events=%d",
        summary.feeds,
        summary.failed,
        summary.new_items,
        summary.new_events,
    )
    return summary


def _interval(deps: Deps, feed: FeedState) -> timedelta:
    for spec in deps.config.feeds:
        if spec.url == feed.url:
            return spec.interval
    return deps.config.poll.interval


async def poll_feed(deps: Deps, feed: FeedState) -> tuple[bool, int, int]:
    """Poll one feed; returns (ok, new items, new events). Never raises MonitorError."""
    now = deps.clock()
    interval = _interval(deps, feed)
    try:
        result = await fetch_configured(
            deps.client,
            feed.url,
            etag=feed.etag,
            last_modified=feed.last_modified,
            max_bytes=deps.config.poll.max_bytes,
            deadline=deps.config.poll.timeout.total_seconds(),
        )
        new: list[tuple[int, Entry]] = []
        events = 0
        if not result.not_modified:
            # parse against the configured URL: relative GUIDs resolve against it, and a
            # redirect must not change every item's dedup key
            entries = await asyncio.to_thread(parse_feed, feed.url, result.body, result.headers)
            new = await asyncio.to_thread(deps.store.add_items, feed.id, entries, now)
            for item_id, entry in new:
                events += await _match_item(deps, feed, item_id, entry, now)
        await asyncio.to_thread(
            deps.store.save_poll,
            feed.id,
            now,
            next_poll_at(now, interval, 0, deps.rand()),
            etag=result.etag,
            last_modified=result.last_modified,
            new_items=len(new),
        )
        log.debug("feed polled feed_id=%d status=%d new_items=%d", feed.id, result.status, len(new))
        return True, len(new), events
    except MonitorError as e:
        kind = e.kind.value if isinstance(e, FetchError) else type(e).__name__
        retry_after = e.retry_after if isinstance(e, FetchError) else None
        error = str(e)
        log.warning(
            "feed poll failed feed_id=%d url=%s kind=%s error=%s", feed.id, feed.url, kind, e
        )
    except Exception as e:  # one broken feed must never stop the tick
        kind, retry_after, error = "internal", None, f"{type(e).__name__}: {e}"
        log.exception("feed poll crashed feed_id=%d url=%s", feed.id, feed.url)
    nxt = next_poll_at(now, interval, feed.failures + 1, deps.rand(), retry_after=retry_after)
    try:
        await asyncio.to_thread(
            deps.store.save_poll, feed.id, now, nxt, error_kind=kind, error=error
        )
    except MonitorError as store_error:
        log.error("feed state not saved feed_id=%d error=%s", feed.id, store_error)
    return False, 0, 0


async def _match_item(
    deps: Deps, feed: FeedState, item_id: int, entry: object, now: datetime
) -> int:
    from monitor.models import Entry

    assert isinstance(entry, Entry)
    published = entry.published.date() if entry.published else None
    meetings = deps.matcher.match(entry.title, entry.text, published)
    created = 0
    for meeting in meetings:
        event_id = await asyncio.to_thread(
            deps.store.record_meeting, item_id, meeting, subscribers_of(deps.config), now
        )
        if event_id is not None:
            created += 1
            log.info(
                "event detected event_id=%d official=%s country=%s date=%s feed_id=%d",
                event_id,
                meeting.official_id,
                meeting.country,
                meeting.date,
                feed.id,
            )
    return created


async def drain_outbox(deps: Deps, limit: int = 100) -> tuple[int, int]:
    """Send due deliveries; returns (sent, failed attempts)."""
    now = deps.clock()
    claimed = await asyncio.to_thread(
        deps.store.claim_deliveries, now, limit, deps.owner, DELIVERY_LEASE
    )
    sent = failed = 0
    events: dict[int, Event | None] = {}
    settings = deps.config.delivery
    for d in claimed:
        if d.event_id not in events:
            events[d.event_id] = await asyncio.to_thread(deps.store.event, d.event_id)
        event = events[d.event_id]
        if event is None:
            continue
        result = await deps.notifier.send(d.subscriber, d.channel, render(event))
        done = deps.clock()
        if result.ok:
            sent += 1
            await asyncio.to_thread(deps.store.mark_sent, d.id, done)
            log.info(
                "alert sent event_id=%d subscriber=%s channel=%s",
                d.event_id,
                d.subscriber,
                d.channel,
            )
            continue
        failed += 1
        give_up = not result.retryable or d.attempts + 1 >= settings.max_attempts
        retry_at = (
            None
            if give_up
            else next_retry_at(
                done, d.attempts + 1, deps.rand(), base=settings.retry_base, cap=settings.retry_max
            )
        )
        await asyncio.to_thread(deps.store.mark_failed, d.id, result.detail, retry_at)
        log.warning(
            "alert failed event_id=%d subscriber=%s channel=%s attempt=%d retry_at=%s error=%s",
            d.event_id,
            d.subscriber,
            d.channel,
            d.attempts + 1,
            retry_at.isoformat() if retry_at else "never",
            result.detail,
        )
    return sent, failed
