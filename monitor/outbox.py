"""I/O shell: drain the outbox, and tell the admins (failed deliveries, feeds that start or
stop failing or being silent). Decides nothing itself.

    claim due deliveries | group by subscriber channel | render | notify | mark each outcome

Channels are sent in parallel, each at its own pace and in order (apprise throttles per
URL, so a slow email server never holds up Slack). A channel that fails keeps its backlog
in order behind the failed row, which is retried with exponential backoff and jitter; after
``delivery.max_attempts`` it is marked failed and the admins are told. Rows of a digest or
held by quiet hours that fall due together go out as one message.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from monitor.backoff import next_retry_at
from monitor.errors import MonitorError
from monitor.health import Thresholds, health_transitions
from monitor.leases import keep_leases
from monitor.models import CONSOLE, Batch, Event, Message
from monitor.notify import redacted
from monitor.render import render, render_batch, slack_escape
from monitor.routing import zone
from monitor.store_outbox import Claimed

if TYPE_CHECKING:
    from monitor.deps import Deps

log = logging.getLogger(__name__)

CLAIM_LIMIT = 500


async def drain_outbox(deps: Deps, limit: int = CLAIM_LIMIT) -> tuple[int, int]:
    """Send due deliveries; returns (rows sent, rows that failed this attempt)."""
    now = deps.clock()
    lease = deps.config.delivery.lease
    claimed = await asyncio.to_thread(deps.store.claim_deliveries, now, limit, deps.owner, lease)
    if not claimed:
        return 0, 0
    events: dict[int, Event | None] = {}
    for event_id in dict.fromkeys(c.event_id for c in claimed):
        events[event_id] = await asyncio.to_thread(deps.store.event, event_id)
    channels: dict[tuple[str, str], list[Claimed]] = {}
    for c in claimed:
        channels.setdefault((c.subscriber, c.channel), []).append(c)
    ids = [c.id for c in claimed]

    async def renew() -> None:  # issue 6: a slow channel must not pass for a dead instance
        until = deps.clock() + lease
        await asyncio.to_thread(deps.store.renew_delivery_leases, ids, deps.owner, until)

    async with keep_leases(renew, lease, "deliveries"):
        results = await asyncio.gather(
            *(_drain_channel(deps, rows, events) for rows in channels.values())
        )
    return sum(s for s, _ in results), sum(f for _, f in results)


def _units(rows: Sequence[Claimed]) -> list[list[Claimed]]:
    """Messages to send, in row order: one per immediate row, one per batch kind."""
    units: list[list[Claimed]] = []
    batches: dict[Batch, list[Claimed]] = {}
    for r in rows:
        if r.batch is None:
            units.append([r])
        elif r.batch in batches:
            batches[r.batch].append(r)
        else:
            batches[r.batch] = [r]
            units.append(batches[r.batch])
    return units


def _message(deps: Deps, unit: Sequence[Claimed], events: Sequence[Event]) -> Message:
    batch = unit[0].batch
    if batch is None:
        return render(events[0])
    if batch is Batch.HELD:
        return render_batch(events, "Held during quiet hours")
    sub = next((s for s in deps.config.subscribers if s.name == unit[0].subscriber), None)
    day = deps.clock().astimezone(zone(sub.timezone if sub else "UTC")).date()
    return render_batch(events, f"Digest {day.isoformat()}")


async def _drain_channel(
    deps: Deps, rows: Sequence[Claimed], events: dict[int, Event | None]
) -> tuple[int, int]:
    settings = deps.config.delivery
    started = time.monotonic()
    sent = failed = 0
    units = _units(rows)
    for n, unit in enumerate(units):
        ids = [r.id for r in unit]
        if time.monotonic() - started > deps.config.delivery.lease.total_seconds() / 2:
            # the channel's pace outlasts half the lease: let the next drain take the rest
            await asyncio.to_thread(deps.store.release, [r.id for u in units[n:] for r in u])
            break
        found = [e for e in (events.get(r.event_id) for r in unit) if e is not None]
        if not found:
            await asyncio.to_thread(deps.store.mark_failed, ids, "event not found", None)
            continue
        sub, channel = unit[0].subscriber, unit[0].channel
        result = await deps.notifier.send(sub, channel, _message(deps, unit, found))
        done = deps.clock()
        if result.ok:
            await asyncio.to_thread(deps.store.mark_sent, ids, done)
            sent += len(ids)
            for r in unit:
                log.info(
                    "alert sent event_id=%d subscriber=%s channel=%s batch=%s",
                    r.event_id,
                    sub,
                    channel,
                    r.batch or "-",
                )
            continue
        failed += len(ids)
        attempt = max(r.attempts for r in unit) + 1
        give_up = not result.retryable or attempt >= settings.max_attempts
        retry_at = None
        if not give_up:
            retry_at = next_retry_at(
                done, attempt, deps.rand(), base=settings.retry_base, cap=settings.retry_max
            )
        await asyncio.to_thread(deps.store.mark_failed, ids, result.detail, retry_at)
        log.warning(
            "alert failed event_ids=%s subscriber=%s channel=%s attempt=%d retry_at=%s error=%s",
            ",".join(str(r.event_id) for r in unit),
            sub,
            channel,
            attempt,
            retry_at.isoformat() if retry_at else "never",
            result.detail,
        )
        if give_up and deps.notifier.has_channel(sub, channel):
            await notify_admins(
                deps,
                f"Alert delivery failed for {sub}",
                f"Gave up after {attempt} attempt(s) sending to subscriber {sub!r} channel "
                f"{_channel_name(deps, sub, channel)}.\nEvents: "
                + ", ".join(f"#{e.id}" for e in found)
                + f"\nLast error: {result.detail}\nSee `monitor deliveries --status failed`.",
            )
        if retry_at is not None:
            # the channel is down: keep its other rows, in order, behind this one
            await asyncio.to_thread(deps.store.release, [r.id for u in units[n + 1 :] for r in u])
            break
    return sent, failed


def _channel_name(deps: Deps, subscriber: str, channel: str) -> str:
    url = deps.notifier.channel_url(subscriber, channel)
    return redacted(url) if url else channel


async def notify_admins(deps: Deps, subject: str, text: str) -> None:
    """Tell the admins about the system itself (failed deliveries, source health): each URL
    in ``admins:``, or the console when there is none. Never raises; failures are logged."""
    log.warning("admin notice subject=%s", subject)
    message = Message(subject, text, f"<pre>{html.escape(text)}</pre>", slack_escape(text))
    for url in deps.config.admins or (CONSOLE,):
        try:
            result = await deps.notifier.send_url(url, message, label="ADMIN")
        except Exception:  # an admin notice must never break the tick that sends it
            log.exception("admin notice crashed channel=%s", redacted(url))
            continue
        if not result.ok:
            log.error("admin notice failed channel=%s error=%s", redacted(url), result.detail)


HEALTH_EVERY = timedelta(seconds=30)


async def check_health(deps: Deps, *, force: bool = False) -> int:
    """Tell the admins, once, about feeds that started or stopped failing or being silent."""
    now = deps.clock()
    if not force and deps.health_checked_at and now - deps.health_checked_at < HEALTH_EVERY:
        return 0
    deps.health_checked_at = now
    thresholds = {
        s.url: Thresholds(s.failing_after or deps.config.health.failing_after, s.silent_after)
        for s in deps.config.feeds
    }
    sent = 0
    try:
        feeds = await asyncio.to_thread(deps.store.feeds)
        for notice in health_transitions(feeds, now, thresholds):
            prev = notice.previous.value if notice.previous else None
            state = notice.state.value if notice.state else None
            # Compare-and-set first: of several instances, only one sends the notice.
            if await asyncio.to_thread(deps.store.set_health, notice.feed_id, prev, state, now):
                log.warning(
                    "feed health changed feed_id=%d url=%s notice=%s",
                    notice.feed_id,
                    notice.feed_url,
                    notice.kind,
                )
                await notify_admins(deps, notice.subject, notice.text)
                sent += 1
    except MonitorError as e:
        log.error("health check failed error=%s", e)
    return sent
