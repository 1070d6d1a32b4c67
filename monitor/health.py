"""Pure: which sources need an admin's attention, and which have recovered. No I/O, no clock.

A feed is *failing* when its current streak of failures is older than its threshold, and
*silent* when it works but has brought no new item for longer than its expected cadence.
Each change of that state produces one notice; the state last notified is stored per feed
(``feeds.health_state``), so an alert goes out once and its recovery notice once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

DEFAULT_FAILING_AFTER = timedelta(hours=6)


class HealthState(StrEnum):
    FAILING = "failing"
    SILENT = "silent"


class NoticeKind(StrEnum):
    FAILING = "failing"
    SILENT = "silent"
    RECOVERED = "recovered"


class FeedHealth(Protocol):
    """What health needs to know of a feed (store.FeedState has it)."""

    @property
    def id(self) -> int: ...
    @property
    def url(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def active(self) -> bool: ...
    @property
    def failures(self) -> int: ...
    @property
    def failing_since(self) -> datetime | None: ...
    @property
    def last_success_at(self) -> datetime | None: ...
    @property
    def last_new_item_at(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def last_error_kind(self) -> str | None: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def health_state(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Thresholds:
    """One feed's limits: failing longer than ``failing_after``, silent longer than
    ``silent_after`` (None: the feed has no expected cadence and is never silent)."""

    failing_after: timedelta = DEFAULT_FAILING_AFTER
    silent_after: timedelta | None = None


@dataclass(frozen=True, slots=True)
class HealthNotice:
    feed_id: int
    feed_url: str
    kind: NoticeKind
    previous: HealthState | None  # the state last notified
    state: HealthState | None  # the state to record once the notice is sent
    subject: str
    text: str


def state_of(feed: FeedHealth, now: datetime, limits: Thresholds) -> HealthState | None:
    """The feed's health now: failing beats silent; None is healthy."""
    if feed.failures > 0 and feed.failing_since is not None:
        if now - feed.failing_since >= limits.failing_after:
            return HealthState.FAILING
        return _previous(feed)  # a short blip neither raises nor clears an alert
    if limits.silent_after is not None:
        since = feed.last_new_item_at or feed.created_at
        if since is not None and now - since >= limits.silent_after:
            return HealthState.SILENT
    return None


def _previous(feed: FeedHealth) -> HealthState | None:
    try:
        return HealthState(feed.health_state) if feed.health_state else None
    except ValueError:
        return None


def health_transitions(
    feeds: Iterable[FeedHealth], now: datetime, thresholds: Mapping[str, Thresholds]
) -> list[HealthNotice]:
    """One notice per active configured feed whose health changed since it was last notified.

    ``thresholds`` is keyed by the configured feed URL; feeds not in it are skipped.
    """
    notices: list[HealthNotice] = []
    for feed in feeds:
        limits = thresholds.get(feed.url)
        if limits is None or not feed.active:
            continue
        before, after = _previous(feed), state_of(feed, now, limits)
        if before == after:
            continue
        notices.append(_notice(feed, now, before, after, limits))
    return notices


def _notice(
    feed: FeedHealth,
    now: datetime,
    before: HealthState | None,
    after: HealthState | None,
    limits: Thresholds,
) -> HealthNotice:
    if after is HealthState.FAILING:
        since = feed.failing_since or now
        kind = NoticeKind.FAILING
        subject = f"Feed failing: {feed.name}"
        text = (
            f"{feed.name} ({feed.url}) has failed since {_t(since)} "
            f"({_age(now - since)}, {feed.failures} attempts in a row). "
            f"Last error: {feed.last_error_kind or 'unknown'}: {feed.last_error or ''}".rstrip()
            + "\nIt is still polled at the backoff ceiling; a recovery notice will follow."
        )
    elif after is HealthState.SILENT:
        since = feed.last_new_item_at or feed.created_at or now
        kind = NoticeKind.SILENT
        subject = f"Feed silent: {feed.name}"
        text = (
            f"{feed.name} ({feed.url}) has brought no new item since {_t(since)} "
            f"({_age(now - since)}; expected at least one every "
            f"{_age(limits.silent_after or timedelta(0))}). Fetching works"
            + (f", last success {_t(feed.last_success_at)}." if feed.last_success_at else ".")
        )
    else:
        kind = NoticeKind.RECOVERED
        subject = f"Feed recovered: {feed.name}"
        was = "failing" if before is HealthState.FAILING else "silent"
        text = f"{feed.name} ({feed.url}) is healthy again (it was {was})."
    return HealthNotice(feed.id, feed.url, kind, before, after, subject, text)


def _t(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else "never"


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"


def feed_report(feed: FeedHealth, kind: str, next_poll_at: datetime, fetch_url: str | None) -> str:
    """A few lines for ``monitor feeds``: state, kind, where it is fetched, errors, notices."""
    if not feed.active:
        state = "inactive"
    elif feed.failures:
        state = "failing"
    else:
        state = feed.health_state or "ok"
    lines = [
        f"{feed.name}  [{state}]  {kind}  {feed.url}",
        f"      last success: {_t(feed.last_success_at)}  last new item: "
        f"{_t(feed.last_new_item_at)}  next poll: {_t(next_poll_at)}",
    ]
    if fetch_url and fetch_url != feed.url:
        lines.append(f"      moved permanently to: {fetch_url}")
    if feed.failures:
        lines.append(
            f"      failing since {_t(feed.failing_since)}: {feed.failures} failure(s) in a row, "
            f"last error {feed.last_error_kind}: {feed.last_error}"
        )
    if feed.health_state:
        lines.append(f"      admins were told: {feed.health_state}")
    return "\n".join(lines)
