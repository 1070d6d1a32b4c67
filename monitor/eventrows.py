"""Pure: an event's database row and the values the merge rules (``events``) work with, both
ways; what a recorded item contributes (its time, its lock). No I/O."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from monitor.events import KnownEvent, Report, view
from monitor.models import DateSource, Entry, EventKind, Meeting


def seen_at(entry: Entry, now: datetime) -> datetime:
    """When a report was made: its publication time (never in the future), else now."""
    return min(entry.published, now) if entry.published else now


def distinct(
    found: Sequence[tuple[Entry, Sequence[Meeting]]],
) -> dict[str, tuple[Entry, Sequence[Meeting]]]:
    """One entry per key, the first, in feed order."""
    by_key: dict[str, tuple[Entry, Sequence[Meeting]]] = {}
    for entry, meetings in found:
        by_key.setdefault(entry.key, (entry, meetings))
    return by_key


def lock_key(report: Report) -> str:
    m = report.meeting
    return "|".join([str(m.kind), *sorted({m.official_country, m.country})])


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def known_event(r: Any) -> KnownEvent:
    """From an events row (a Core row: the same attribute names as EventRow)."""
    assert r.id is not None
    return KnownEvent(
        r.id,
        r.official_id,
        r.official_country,
        r.country,
        EventKind(r.kind),
        r.event_date if r.date_source == DateSource.TEXT.value else None,
        r.anchor or r.first_seen,
        r.peer_official_id or "",
        r.counterpart,
        r.official_name,
        r.evidence,
    )


def changes_of(before: KnownEvent, after: KnownEvent, report: Report) -> dict[str, Any]:
    """The columns to write for what ``absorb`` filled in: a stated date, the other side, a
    better counterpart."""
    changes: dict[str, Any] = {}
    if after.date and not before.date:
        changes |= {"event_date": after.date, "date_source": DateSource.TEXT.value}
    if after.peer and not before.peer:
        other = next(m for m in (report.meeting, report.peer) if m and m.official_id == after.peer)
        changes |= peer_values(other)
    mine = view(report, before)
    if mine is not None and after.counterpart != before.counterpart:
        changes |= {
            "counterpart": mine.counterpart,
            "evidence": mine.evidence,
            "trigger": mine.trigger,
            "spans": spans_json(mine),
        }
    return changes


def peer_values(m: Meeting) -> dict[str, Any]:
    return {
        "peer_official_id": m.official_id,
        "peer_official_name": m.official_name,
        "peer_watchlist": m.watchlist,
    }


def spans_json(m: Meeting) -> str:
    return json.dumps([[sp.start, sp.end, sp.role] for sp in m.spans])


def event_values(m: Meeting, now: datetime) -> dict[str, Any]:
    return {
        "official_id": m.official_id,
        "official_name": m.official_name,
        "official_country": m.official_country,
        "watchlist": m.watchlist,
        "country": m.country,
        "kind": str(m.kind),
        "event_date": m.date,
        "date_source": str(m.date_source),
        "counterpart": m.counterpart,
        "evidence": m.evidence,
        "trigger": m.trigger,
        "spans": spans_json(m),
        "first_seen": now,
    }
