"""I/O shell: one poll of one feed, and one drain of the outbox. Decides nothing itself.

    claim due feeds | fetch | parse | new entries | match | store.record_polls
        (items + events + outbox rows + the poll's state in one transaction, with the other
        polls that finish meanwhile; a first poll alerts nobody)
    claim deliveries | render | notify | mark sent / retry later / give up   (outbox.py)

Parsing and matching are CPU work: in the daemon they run in worker processes
(``Deps.workers``, monitor.workers), else in a thread. Writes go through one store thread,
and polls are written in groups (monitor.deps).

``poll_feed`` is the per-feed error wall: whatever goes wrong is recorded on the feed and
logged once, and the other feeds carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.backoff import next_poll_at
from monitor.deps import Deps, subscribers_of, write
from monitor.errors import FetchError, MonitorError, ParseError
from monitor.fulltext import FullTextSettings, enrich
from monitor.gazetteer import load_gazetteer
from monitor.leases import keep_leases
from monitor.match import Matcher
from monitor.models import (
    Backfill,
    Entry,
    EventKind,
    FeedKind,
    FeedSpec,
    Meeting,
)
from monitor.outbox import check_health
from monitor.outbox import drain_outbox as drain_outbox  # re-exported for app
from monitor.outbox import notify_admins as notify_admins  # re-exported (issue 5)
from monitor.pages import Page
from monitor.routing import Route, View, route
from monitor.sources import Limits, Seen, harvest, parse_in_thread
from monitor.store import FeedState, PollDone
from monitor.store_events import Finds
from monitor.workers import Found, match_entries

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PollSummary:
    feeds: int = 0
    failed: int = 0
    new_items: int = 0
    new_events: int = 0


async def poll_due(deps: Deps, limit: int = 500) -> PollSummary:
    """Claim due feeds as slots free up and poll them; waits for the ones it started.

    At most ``poll.concurrency`` feeds are in flight across overlapping ticks, and a tick
    claims only what it can start now, so a slow feed never holds up a healthy one and
    another instance can take what this one cannot. Most overdue first (claim order).
    """
    running: set[asyncio.Task[tuple[bool, int, int]]] = set()
    results: list[tuple[bool, int, int]] = []
    claimed = 0
    # claim a few slots at a time, not one per finished feed: each claim is a transaction
    chunk = max(1, deps.config.poll.concurrency // 8)
    while claimed < limit:
        free = min(limit - claimed, deps.config.poll.concurrency - deps.busy)
        if free > 0 and (free >= min(chunk, limit - claimed) or not running):
            feeds = await _claim(deps, free)
            claimed += len(feeds)
            running |= {asyncio.create_task(_run(deps, f)) for f in feeds}
            if len(feeds) < free:
                break  # nothing else is due
        if not running:
            break  # other ticks hold every slot; the next tick claims the rest
        done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        results.extend(t.result() for t in done)
    results.extend(await asyncio.gather(*running))
    summary = PollSummary(
        feeds=len(results),
        failed=sum(1 for ok, _, _ in results if not ok),
        new_items=sum(n for _, n, _ in results),
        new_events=sum(e for _, _, e in results),
    )
    if results:
        log.info(
            "poll tick feeds=%d failed=%d new_items=%d events=%d",
            summary.feeds,
            summary.failed,
            summary.new_items,
            summary.new_events,
        )
    await check_health(deps)
    return summary


async def _claim(deps: Deps, n: int) -> list[FeedState]:
    deps.busy += n  # reserve before awaiting, so an overlapping tick cannot take the slots
    feeds: list[FeedState] = []
    try:
        feeds = await write(
            deps, deps.store.claim_due_feeds, deps.clock(), n, deps.owner, deps.config.poll.lease
        )
    finally:
        deps.busy -= n - len(feeds)
    return feeds


async def _run(deps: Deps, feed: FeedState) -> tuple[bool, int, int]:
    # issue 6: the lease is renewed while the poll runs (pages and full text can outlast it),
    # so only a dead instance's feeds move; and each poll is timed and counted for /metrics
    lease = deps.config.poll.lease

    async def renew() -> None:
        until = deps.clock() + lease
        if not await write(deps, deps.store.renew_feed_lease, feed.id, deps.owner, until):
            deps.metrics.leases_lost += 1
            log.warning("feed lease lost feed_id=%d owner=%s", feed.id, deps.owner)

    started = time.monotonic()
    try:
        async with keep_leases(renew, lease, f"feed {feed.id}"):
            ok, items, events = await poll_feed(deps, feed)
        kind = None
        if not ok:
            with contextlib.suppress(MonitorError):  # poll_feed stored why it failed
                kind = await asyncio.to_thread(deps.store.feed_error_kind, feed.id)
            kind = kind or "internal"
        deps.metrics.observe_poll(time.monotonic() - started, kind, items, events)
        return ok, items, events
    finally:
        deps.busy -= 1


def feed_spec(deps: Deps, feed: FeedState) -> FeedSpec:
    """The configured spec of a stored feed (matched on the URL as typed)."""
    if deps.specs is None or deps.specs[0] is not deps.config:  # built once per config
        deps.specs = (deps.config, {spec.url: spec for spec in reversed(deps.config.feeds)})
    spec = deps.specs[1].get(feed.url)
    return spec or FeedSpec(feed.name, feed.url, deps.config.poll.interval)


def _limits(deps: Deps) -> Limits:
    fetch = deps.config.fetch
    return Limits(
        max_bytes=deps.config.poll.max_bytes,
        deadline=deps.config.poll.timeout.total_seconds(),
        max_redirects=fetch.max_redirects,
        max_pages=fetch.max_pages,
    )


def _full_text(deps: Deps) -> FullTextSettings:
    fetch = deps.config.fetch
    return FullTextSettings(
        min_chars=fetch.full_text_min_chars,
        max_bytes=fetch.full_text_max_bytes,
        deadline=deps.config.poll.timeout.total_seconds(),
        per_poll=fetch.full_text_per_poll,
        max_redirects=fetch.max_redirects,
    )


async def poll_feed(deps: Deps, feed: FeedState) -> tuple[bool, int, int]:
    """Poll one feed; returns (ok, new items, new events). Never raises MonitorError."""
    now = deps.clock()
    spec = feed_spec(deps, feed)
    ceiling = deps.config.fetch.backoff_max
    try:
        known = None
        if spec.kind in (FeedKind.HTML, FeedKind.TELEGRAM) and await asyncio.to_thread(
            deps.store.has_items, feed.id
        ):

            async def known(keys: list[str]) -> set[str]:
                return await asyncio.to_thread(deps.store.known_keys, feed.id, keys)

        seen = Seen(feed.fetch_url, feed.etag, feed.last_modified, feed.body_hash)
        parsing = _Parsing(deps, feed, spec)
        crop = await harvest(deps.http, spec, seen, _limits(deps), known, parsing.parse)
        moved = None
        if crop.result.moved and spec.kind is not FeedKind.SEARCH:
            moved = crop.result.url
            log.info("feed moved permanently feed_id=%d url=%s to=%s", feed.id, feed.url, moved)
        done = PollDone(
            feed.id,
            now,
            next_poll_at(now, spec.interval, 0, deps.rand(), ceiling=ceiling),
            etag=crop.result.etag,
            last_modified=crop.result.last_modified,
            body_hash=crop.body_hash,
            fetch_url=moved,
        )
        new: list[tuple[int, Entry]] = []
        events = 0
        fresh = await _unseen(deps, feed, crop.entries) if crop.entries is not None else []
        if fresh and deps.config.fetch.full_text and spec.kind is not FeedKind.TELEGRAM:
            fresh = await enrich(deps.http, deps.store, fresh, now, _full_text(deps))
        if fresh:  # the items, their events and the poll's state: one transaction
            entries = [e for _, e in fresh]
            new, events = await _record_entries(deps, feed, spec, entries, now, done, parsing)
        else:  # nothing new: saved with the other polls that finish meanwhile
            await deps.saves.submit(deps, done)
        log.debug(
            "feed polled feed_id=%d status=%d parsed=%s pages=%d new_items=%d",
            feed.id,
            crop.result.status,
            crop.entries is not None,
            crop.pages,
            len(new),
        )
        return True, len(new), events
    except MonitorError as e:
        kind = error_kind(e)
        retry_after = e.retry_after if isinstance(e, FetchError) else None
        error = str(e)
        log.warning(
            "feed poll failed feed_id=%d url=%s kind=%s error=%s", feed.id, feed.url, kind, e
        )
    except Exception as e:  # one broken feed must never stop the tick
        kind, retry_after, error = "internal", None, f"{type(e).__name__}: {e}"
        log.exception("feed poll crashed feed_id=%d url=%s", feed.id, feed.url)
    nxt = next_poll_at(
        now, spec.interval, feed.failures + 1, deps.rand(), retry_after=retry_after, ceiling=ceiling
    )
    try:
        await write(deps, deps.store.save_poll, feed.id, now, nxt, error_kind=kind, error=error)
    except MonitorError as store_error:
        log.error("feed state not saved feed_id=%d error=%s", feed.id, store_error)
    return False, 0, 0


def error_kind(e: MonitorError) -> str:
    """The closed vocabulary stored in feeds.last_error_kind."""
    if isinstance(e, FetchError):
        return e.kind.value
    if isinstance(e, ParseError):
        return "not_a_feed"
    return type(e).__name__.removesuffix("Error").lower() or "internal"


class _Parsing:
    """The parse step of one poll. On a feed's first poll every entry is new, so the worker
    that parses also matches (one trip instead of two); entries whose full text will be
    fetched are matched later, with it."""

    def __init__(self, deps: Deps, feed: FeedState, spec: FeedSpec) -> None:
        self.deps = deps
        self.matched: dict[int, tuple[Entry, list[Meeting]]] = {}  # by id() of the entry
        self.full_text_min: int | None = None
        if feed.last_success_at is None:
            fetch = deps.config.fetch
            full_text = fetch.full_text and spec.kind is not FeedKind.TELEGRAM
            self.full_text_min = fetch.full_text_min_chars if full_text else 0

    async def parse(
        self, spec: FeedSpec, url: str, body: bytes, headers: Mapping[str, str]
    ) -> Page:
        workers = self.deps.workers
        if workers is None:
            return await parse_in_thread(spec, url, body, headers)
        page, found = await workers.parse(
            self.deps.config.watchlists, spec, url, body, headers, self.full_text_min
        )
        for entry, meetings in found:
            self.matched[id(entry)] = (entry, meetings)
        return page

    def meetings(self, entry: Entry) -> list[Meeting] | None:
        """What the parsing worker found in this very entry (not an enriched copy)."""
        hit = self.matched.get(id(entry))
        return hit[1] if hit is not None and hit[0] is entry else None


async def _unseen(deps: Deps, feed: FeedState, entries: Sequence[Entry]) -> list[tuple[int, Entry]]:
    """The entries this feed has not stored, numbered in feed order (not stored yet: they are
    stored with their meetings in one transaction, so a crash never loses a meeting). A feed
    never polled successfully has stored nothing; the insert skips known keys anyway."""
    fresh: dict[str, Entry] = {}
    known: set[str] = set()
    if feed.last_success_at is not None:
        keys = list(dict.fromkeys(e.key for e in entries))
        known = await asyncio.to_thread(deps.store.known_keys, feed.id, keys)
    for e in entries:
        if e.key not in known:
            fresh.setdefault(e.key, e)
    return list(enumerate(fresh.values()))


async def match(deps: Deps, entries: Sequence[Entry]) -> Found:
    """Each entry with its meetings: in a worker process, else in a thread."""
    if not entries:
        return []
    if deps.workers is not None:
        return await deps.workers.match(deps.config.watchlists, entries)
    if deps.matcher is None:
        deps.matcher = Matcher(deps.config.watchlists, load_gazetteer())
    return await asyncio.to_thread(match_entries, deps.matcher, entries)


async def _record_entries(
    deps: Deps,
    feed: FeedState,
    spec: FeedSpec,
    entries: Sequence[Entry],
    now: datetime,
    done: PollDone,
    parsing: _Parsing,
) -> tuple[list[tuple[int, Entry]], int]:
    """Match new entries, then store them with their events, alerts and the poll's state;
    returns the stored items and how many events now alert. A feed's first successful poll
    records its backlog silently (``backfill: alert`` opts out): adding a feed must not flood
    subscribers."""
    todo = [e for e in entries if parsing.meetings(e) is None]
    # a worker sends back copies of the entries: pair its answers with ours by position
    answers = await match(deps, todo)
    matched = {id(e): meetings for e, (_, meetings) in zip(todo, answers, strict=True)}
    found = [(e, parsing.meetings(e) or matched.get(id(e), [])) for e in entries]
    subscribers = subscribers_of(deps.config)

    def router(views: Sequence[View], kind: EventKind) -> list[Route]:
        return route(views, kind, subscribers, now)

    alert = feed.last_success_at is not None or spec.backfill is Backfill.ALERT
    recorded = await deps.records.submit(deps, Finds(feed.id, found, router, now, alert, done))
    for event_id in recorded.new_events:
        log.info("event detected event_id=%d feed_id=%d alert=%s", event_id, feed.id, alert)
    late = [e for e in recorded.alerted if e not in recorded.new_events]
    for event_id in late:
        log.info("event reported live at last event_id=%d feed_id=%d", event_id, feed.id)
    if not alert and recorded.new_events:
        log.info(
            "backlog recorded without alerts feed_id=%d events=%d",
            feed.id,
            len(recorded.new_events),
        )
    return recorded.new_items, len(recorded.alerted)
