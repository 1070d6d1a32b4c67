"""I/O: the SQL behind events (issue 4): new items, their meetings merged into events, and the
outbox rows of the events that alert, all in one transaction; events read back for rendering.

A mixin of ``store.Store`` (which provides ``engine``, ``_session`` and ``_guard``). The merge
decisions are ``events``' pure rules; this module loads what they need and writes what they
decide. Reports of one pair of countries are merged one at a time across threads and
instances: a ``merge_locks`` row is locked first (SQLite's single writer does the same).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlmodel import Session, col

from monitor.db import insert_for
from monitor.events import (
    KnownEvent,
    Report,
    absorb,
    event_key,
    find_same,
    is_late,
    reports_of,
    view,
    window,
)
from monitor.models import (
    DateSource,
    DeliveryStatus,
    Entry,
    Event,
    EventKind,
    Meeting,
    Source,
    Span,
)
from monitor.routing import Route, View
from monitor.tables import DeliveryRow, EventRow, EventSourceRow, FeedRow, ItemRow, MergeLockRow

Router = Callable[[Sequence[View], EventKind], list[Route]]


@dataclass(frozen=True, slots=True)
class Recorded:
    new_items: list[tuple[int, Entry]]  # (item id, entry) for entries this feed had not seen
    new_events: list[int]
    alerted: list[int]  # events whose alerts this call queued (new, or reported live at last)


def insert_new_items(engine: Engine, feed_id: int, entries: Iterable[Entry], now: datetime) -> Any:
    """INSERT of a feed's entries that skips the ones it already has and RETURNS (id, key) of
    the rows it added: the only way items enter the database."""
    rows = [
        {
            "feed_id": feed_id,
            "key": e.key,
            "title": e.title[:1000],
            "link": e.link,
            "published": e.published,
            "fetched_at": now,
        }
        for e in entries
    ]
    return (
        insert_for(engine, ItemRow)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["feed_id", "key"])
        .returning(col(ItemRow.id), col(ItemRow.key))
    )


def seen_at(entry: Entry, now: datetime) -> datetime:
    """When a report was made: its publication time (never in the future), else now."""
    return min(entry.published, now) if entry.published else now


def lock_key(report: Report) -> str:
    m = report.meeting
    return "|".join([str(m.kind), *sorted({m.official_country, m.country})])


class EventStore:
    """Mixed into Store."""

    engine: Engine

    def _session(self) -> Session:
        raise NotImplementedError

    def _guard(self, what: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def record_entries(
        self,
        feed_id: int,
        found: Sequence[tuple[Entry, Sequence[Meeting]]],
        router: Router,
        now: datetime,
        *,
        alert: bool = True,
    ) -> Recorded:
        """Store the entries this feed had not seen and merge their meetings into events;
        queue alerts (``router``) for new events when ``alert``, else record them silently.
        One transaction: a crash leaves either all of it or none of it."""
        by_key: dict[str, tuple[Entry, Sequence[Meeting]]] = {}
        for entry, meetings in found:
            by_key.setdefault(entry.key, (entry, meetings))
        if not by_key:
            return Recorded([], [], [])
        stmt = insert_new_items(self.engine, feed_id, [e for e, _ in by_key.values()], now)
        out = Recorded([], [], [])
        with self._guard("record entries"), self._session() as s:
            ids = dict((key, item_id) for item_id, key in s.execute(stmt))
            new = [(ids[k], e, reports_of(ms)) for k, (e, ms) in by_key.items() if k in ids]
            self._lock(s, sorted({lock_key(r) for _, _, reps in new for r in reps}), now)
            for item_id, entry, reports in new:
                out.new_items.append((item_id, entry))
                for report in reports:
                    self._merge(s, item_id, report, seen_at(entry, now), router, now, alert, out)
            s.commit()
        return out

    def _lock(self, s: Session, keys: list[str], now: datetime) -> None:
        # sorted, so two transactions needing the same locks never wait on each other
        for key in keys:
            s.execute(
                insert_for(self.engine, MergeLockRow)
                .values(key=key, touched_at=now)
                .on_conflict_do_update(index_elements=["key"], set_={"touched_at": now})
            )

    def _merge(
        self,
        s: Session,
        item_id: int,
        report: Report,
        seen: datetime,
        router: Router,
        now: datetime,
        alert: bool,
        out: Recorded,
    ) -> None:
        same = find_same(report, self._candidates(s, report, seen), seen)
        row = s.get(EventRow, same.id) if same else self._insert_event(s, report, seen, now)
        assert row is not None and row.id is not None
        if same is None and row.id not in out.new_events:
            out.new_events.append(row.id)
        before = same or _known(row)
        _apply(row, before, absorb(before, report), report)
        mine = view(report, before) or report.meeting
        s.execute(
            insert_for(self.engine, EventSourceRow)
            .values(event_id=row.id, item_id=item_id, evidence=mine.evidence, seen_at=now)
            .on_conflict_do_nothing(index_elements=["event_id", "item_id"])
        )
        if alert and not row.routed:
            self._route(s, row, router, now)
            out.alerted.append(row.id)
        s.flush()

    def _candidates(self, s: Session, report: Report, seen: datetime) -> list[KnownEvent]:
        lo, hi = window(report, seen)
        countries = sorted({report.meeting.official_country, report.meeting.country})
        rows = s.execute(
            select(EventRow).where(
                col(EventRow.kind) == str(report.kind),
                col(EventRow.official_country).in_(countries),
                col(EventRow.country).in_(countries),
                or_(
                    col(EventRow.event_date).between(lo, hi),
                    col(EventRow.anchor).between(_start(lo), _start(hi + timedelta(days=1))),
                ),
            )
        ).scalars()
        return [_known(r) for r in rows]

    def _insert_event(self, s: Session, report: Report, seen: datetime, now: datetime) -> EventRow:
        m = report.meeting
        values = {**_event_values(m, now), "key": event_key(m, seen), "anchor": seen}
        values["routed"] = False
        if report.peer is not None:
            values |= _peer_values(report.peer)
        inserted = s.execute(
            insert_for(self.engine, EventRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(col(EventRow.id))
        ).scalar()
        # the key exists only if the rules chose not to merge with it: attach rather than fail
        found = s.get(EventRow, inserted) if inserted is not None else None
        if found is None:
            found = s.execute(
                select(EventRow).where(col(EventRow.key) == values["key"])
            ).scalar_one()
        return found

    def _route(self, s: Session, row: EventRow, router: Router, now: datetime) -> None:
        views = [View(row.watchlist, row.official_id, row.country)]
        if row.peer_official_id:
            views.append(View(row.peer_watchlist or "", row.peer_official_id, row.official_country))
        routes = router(views, EventKind(row.kind))
        if routes:
            s.execute(
                insert_for(self.engine, DeliveryRow)
                .values(
                    [
                        {
                            "event_id": row.id,
                            "subscriber": r.subscriber,
                            "channel": r.channel,
                            "status": DeliveryStatus.PENDING.value,
                            "attempts": 0,
                            "next_attempt_at": r.due_at,
                            "created_at": now,
                            "batch": r.batch.value if r.batch else None,
                        }
                        for r in routes
                    ]
                )
                .on_conflict_do_nothing(index_elements=["event_id", "subscriber", "channel"])
            )
        row.routed = True
        held = row.event_date if row.date_source == DateSource.TEXT.value else None
        row.late = is_late(held, now)

    # ------------------------------------------------------------ reading

    def event(self, event_id: int) -> Event | None:
        with self._guard("load event"), self._session() as s:
            row = s.get(EventRow, event_id)
            return None if row is None else self._event(s, row)

    def recent_events(self, limit: int = 20) -> list[Event]:
        with self._guard("list events"), self._session() as s:
            rows = s.execute(
                select(EventRow)
                .order_by(col(EventRow.first_seen).desc(), col(EventRow.id).desc())
                .limit(limit)
            ).scalars()
            return [self._event(s, r) for r in rows]

    def _event(self, s: Session, row: EventRow) -> Event:
        sources = s.execute(
            select(col(FeedRow.name), col(ItemRow.title), col(ItemRow.link), col(ItemRow.published))
            .select_from(EventSourceRow)
            .join(ItemRow, col(ItemRow.id) == col(EventSourceRow.item_id))
            .join(FeedRow, col(FeedRow.id) == col(ItemRow.feed_id))
            .where(col(EventSourceRow.event_id) == row.id)
            .order_by(col(EventSourceRow.seen_at), col(EventSourceRow.id))
        ).all()
        assert row.id is not None
        return Event(
            id=row.id,
            meeting=meeting_from_row(row),
            first_seen=row.first_seen,
            sources=tuple(Source(*src) for src in sources),
            late=row.late,
            peer=row.peer_official_name or "",
        )


def _start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def _known(r: EventRow) -> KnownEvent:
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


def _apply(row: EventRow, before: KnownEvent, after: KnownEvent, report: Report) -> None:
    """Write what ``absorb`` filled in: a stated date, the other side, a better counterpart."""
    if after.date and not before.date:
        row.event_date, row.date_source = after.date, DateSource.TEXT.value
    if after.peer and not before.peer:
        other = next(m for m in (report.meeting, report.peer) if m and m.official_id == after.peer)
        for name, value in _peer_values(other).items():
            setattr(row, name, value)
    mine = view(report, before)
    if mine is not None and after.counterpart != before.counterpart:
        row.counterpart, row.evidence, row.trigger = mine.counterpart, mine.evidence, mine.trigger
        row.spans = _spans(mine)


def _peer_values(m: Meeting) -> dict[str, Any]:
    return {
        "peer_official_id": m.official_id,
        "peer_official_name": m.official_name,
        "peer_watchlist": m.watchlist,
    }


def _spans(m: Meeting) -> str:
    return json.dumps([[sp.start, sp.end, sp.role] for sp in m.spans])


def _event_values(m: Meeting, now: datetime) -> dict[str, Any]:
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
        "spans": _spans(m),
        "first_seen": now,
    }


def meeting_from_row(r: EventRow) -> Meeting:
    """The Meeting an events row stores (the web queries read rows the same way)."""
    return Meeting(
        official_id=r.official_id,
        official_name=r.official_name,
        official_country=r.official_country,
        watchlist=r.watchlist,
        country=r.country,
        kind=EventKind(r.kind),
        date=r.event_date,
        date_source=DateSource(r.date_source),
        evidence=r.evidence,
        trigger=r.trigger,
        counterpart=r.counterpart,
        spans=tuple(Span(a, b, role) for a, b, role in json.loads(r.spans or "[]")),
    )
