"""Pure: decide whether a detected meeting is a new event or another report of a known one.

Same official + same counterpart country + same kind, dates within one day of each other
(outlets' time zones and "yesterday") → the same event. No I/O; ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from monitor.models import EventKind, Meeting

SAME_DAY_WINDOW = timedelta(days=1)
UNDATED_WINDOW = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class KnownEvent:
    id: int
    official_id: str
    country: str
    kind: EventKind
    date: date | None
    first_seen: datetime


def event_key(m: Meeting) -> str:
    """A stable identity for the database's unique constraint."""
    day = m.date.isoformat() if m.date else "undated"
    return f"{m.official_id}|{m.country}|{m.kind}|{day}"


def find_same(m: Meeting, known: Iterable[KnownEvent], now: datetime) -> KnownEvent | None:
    """The known event this meeting reports again, or None when it is new."""
    best: KnownEvent | None = None
    for ev in known:
        if (ev.official_id, ev.country, ev.kind) != m.pair or not _near(m, ev, now):
            continue
        if best is None or _closeness(m, ev) < _closeness(m, best):
            best = ev
    return best


def _near(m: Meeting, ev: KnownEvent, now: datetime) -> bool:
    if m.date is not None and ev.date is not None:
        return abs(ev.date - m.date) <= SAME_DAY_WINDOW
    if m.date is None:
        # an undated report joins a recent event of the same pair
        return now - ev.first_seen <= UNDATED_WINDOW
    return abs(ev.first_seen.date() - m.date) <= UNDATED_WINDOW


def _closeness(m: Meeting, ev: KnownEvent) -> timedelta:
    if m.date is None or ev.date is None:
        return UNDATED_WINDOW
    return abs(ev.date - m.date)


def window(m: Meeting, now: datetime) -> tuple[date, date]:
    """The event dates a store must load to decide with ``find_same``."""
    centre = m.date or now.date()
    span = SAME_DAY_WINDOW if m.date else UNDATED_WINDOW
    return centre - span, centre + span
