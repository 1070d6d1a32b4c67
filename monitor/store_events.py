"""I/O: the SQL behind events (issue 4): new items, their meetings merged into events, and the
outbox rows of the events that alert, all in one transaction (reading events back:
``store_eventreads``).

A mixin of ``store.Store`` (which provides ``engine``, ``_session`` and ``_guard``). The merge
decisions are ``events``' pure rules; this module loads what they need and writes what they
decide. Reports of one pair of countries are merged one at a time across threads and
instances: a ``merge_locks`` row is locked first (SQLite's single writer does the same).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, bindparam, or_, select, update
from sqlmodel import Session

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
from monitor.feedstore import POLL_DONE, PollDone
from monitor.models import (
    DateSource,
    DeliveryStatus,
    Entry,
    EventKind,
    Meeting,
)
from monitor.routing import Route, View
from monitor.tables import DeliveryRow, EventRow, EventSourceRow, ItemRow, MergeLockRow

Router = Callable[[Sequence[View], EventKind], list[Route]]


@dataclass(frozen=True, slots=True)
class Recorded:
    new_items: list[tuple[int, Entry]]  # (item id, entry) for entries this feed had not seen
    new_events: list[int]
    alerted: list[int]  # events whose alerts this call queued (new, or reported live at last)


_ITEMS: dict[str, Any] = {}  # the items INSERT per dialect, built once (compiled once)


def insert_new_items(
    s: Connection, engine: Engine, feed_id: int, entries: Iterable[Entry], now: datetime
) -> list[tuple[int, str]]:
    """INSERT a feed's entries, skipping the ones it already has; returns (id, key) of the
    rows it added: the only way items enter the database. One statement for every row
    (executemany with RETURNING: SQLAlchemy sends it as multi-row VALUES pages), so it is
    compiled once per process, not once per feed."""
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
    if not rows:
        return []
    stmt = _ITEMS.get(engine.dialect.name)
    if stmt is None:
        table = ItemRow.__table__  # type: ignore[attr-defined]
        stmt = _ITEMS[engine.dialect.name] = (
            insert_for(engine, table)
            .on_conflict_do_nothing(index_elements=["feed_id", "key"])
            .returning(table.c.id, table.c.key)
        )
    return [(item_id, key) for item_id, key in s.execute(stmt, rows)]


def _statement(engine: Engine, name: str) -> Any:
    """The INSERTs run per merge, built once per dialect so they are compiled once."""
    stmt = _ITEMS.get(f"{engine.dialect.name}:{name}")
    if stmt is None:
        if name == "lock":
            locks = MergeLockRow.__table__  # type: ignore[attr-defined]
            insert = insert_for(engine, locks)
            stmt = insert.on_conflict_do_update(
                index_elements=["key"], set_={"touched_at": insert.excluded.touched_at}
            )
        elif name == "event":
            stmt = (
                insert_for(engine, _EVENTS)
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(*_EVENTS.c)
            )
        elif name == "delivery":
            deliveries = DeliveryRow.__table__  # type: ignore[attr-defined]
            stmt = insert_for(engine, deliveries).on_conflict_do_nothing(
                index_elements=["event_id", "subscriber", "channel"]
            )
        else:
            sources = EventSourceRow.__table__  # type: ignore[attr-defined]
            stmt = insert_for(engine, sources).on_conflict_do_nothing(
                index_elements=["event_id", "item_id"]
            )
        _ITEMS[f"{engine.dialect.name}:{name}"] = stmt
    return stmt


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

    def save_polls(self, done: Sequence[PollDone]) -> None:
        raise NotImplementedError

    def record_entries(
        self,
        feed_id: int,
        found: Sequence[tuple[Entry, Sequence[Meeting]]],
        router: Router,
        now: datetime,
        *,
        alert: bool = True,
        done: PollDone | None = None,
    ) -> Recorded:
        """Store the entries this feed had not seen and merge their meetings into events;
        queue alerts (``router``) for new events when ``alert``, else record them silently.
        With ``done``, the poll that found them is recorded too (its lease released).
        One transaction: a crash leaves either all of it or none of it."""
        by_key: dict[str, tuple[Entry, Sequence[Meeting]]] = {}
        for entry, meetings in found:
            by_key.setdefault(entry.key, (entry, meetings))
        if not by_key:
            if done is not None:
                self.save_polls([done])
            return Recorded([], [], [])
        out = Recorded([], [], [])
        # Core on one connection, not the ORM: a poll's first fetch of 1,000 feeds records
        # 20,000 items and merges 2,000 reports, and the Session's per-statement bookkeeping
        # and row objects cost more than the SQL
        with self._guard("record entries"), self.engine.begin() as s:
            entries = [e for e, _ in by_key.values()]
            ids = {
                key: item_id
                for item_id, key in insert_new_items(s, self.engine, feed_id, entries, now)
            }
            new = [(ids[k], e, reports_of(ms)) for k, (e, ms) in by_key.items() if k in ids]
            self._lock(s, sorted({lock_key(r) for _, _, reps in new for r in reps}), now)
            sources: list[dict[str, Any]] = []  # (event, item) links, inserted together
            for item_id, entry, reports in new:
                out.new_items.append((item_id, entry))
                seen = seen_at(entry, now)
                fed: set[int] = set()  # an item's meetings the matcher kept apart stay apart
                for report in reports:
                    event_id, evidence = self._merge(s, report, seen, router, now, alert, out, fed)
                    fed.add(event_id)
                    sources.append(
                        {
                            "event_id": event_id,
                            "item_id": item_id,
                            "evidence": evidence,
                            "seen_at": now,
                        }
                    )
            if sources:
                s.execute(_statement(self.engine, "source"), sources)
            if done is not None:
                s.execute(POLL_DONE, [replace(done, new_items=len(out.new_items)).params()])
        return out

    def _lock(self, s: Connection, keys: list[str], now: datetime) -> None:
        # sorted, so two transactions needing the same locks never wait on each other
        # (executemany runs the rows in this order)
        if keys:
            s.execute(
                _statement(self.engine, "lock"), [{"key": k, "touched_at": now} for k in keys]
            )

    def _merge(
        self,
        s: Connection,
        report: Report,
        seen: datetime,
        router: Router,
        now: datetime,
        alert: bool,
        out: Recorded,
        fed: set[int],
    ) -> tuple[int, str]:
        """Attach a report to the event it tells of, or a new one; returns the event's id
        and the report's evidence for it."""
        rows = {r.id: r for r in self._candidates(s, report, seen)}
        same = find_same(report, [_known(r) for r in rows.values()], seen, fed)
        row = rows[same.id] if same else self._insert_event(s, report, seen, now)
        if same is None and row.id not in out.new_events:
            out.new_events.append(row.id)
        before = same or _known(row)
        changes = _changes(before, absorb(before, report), report)
        mine = view(report, before) or report.meeting
        if alert and not row.routed:
            changes |= self._route(s, row.id, {**row._mapping, **changes}, router, now)
            out.alerted.append(row.id)
        if changes:
            s.execute(_UPDATE_EVENT, {"b_id": row.id, **changes})
        return int(row.id), mine.evidence

    def _candidates(self, s: Connection, report: Report, seen: datetime) -> Sequence[Row[Any]]:
        lo, hi = window(report, seen)
        m = report.meeting
        return s.execute(
            _CANDIDATES,
            {
                "kind": str(report.kind),
                "a": m.official_country,
                "b": m.country,
                "lo": lo,
                "hi": hi,
                "from": _start(lo),
                "to": _start(hi + timedelta(days=1)),
            },
        ).all()

    def _insert_event(
        self, s: Connection, report: Report, seen: datetime, now: datetime
    ) -> Row[Any]:
        m = report.meeting
        values = {**_event_values(m, now), "key": event_key(m, seen), "anchor": seen}
        values["routed"] = False
        if report.peer is not None:
            values |= _peer_values(report.peer)
        inserted = s.execute(_statement(self.engine, "event"), values).first()
        # the key exists only if the rules chose not to merge with it: attach rather than fail
        if inserted is None:
            inserted = s.execute(select(_EVENTS).where(_EVENTS.c.key == values["key"])).one()
        return inserted

    def _route(
        self, s: Connection, event_id: int, row: Mapping[str, Any], router: Router, now: datetime
    ) -> dict[str, Any]:
        """Queue the event's deliveries; returns what changes on its row."""
        views = [View(row["watchlist"], row["official_id"], row["country"])]
        if row["peer_official_id"]:
            views.append(
                View(row["peer_watchlist"] or "", row["peer_official_id"], row["official_country"])
            )
        routes = router(views, EventKind(row["kind"]))
        if routes:
            s.execute(
                _statement(self.engine, "delivery"),
                [
                    {
                        "event_id": event_id,
                        "subscriber": r.subscriber,
                        "channel": r.channel,
                        "status": DeliveryStatus.PENDING.value,
                        "attempts": 0,
                        "next_attempt_at": r.due_at,
                        "created_at": now,
                        "batch": r.batch.value if r.batch else None,
                    }
                    for r in routes
                ],
            )
        held = row["event_date"] if row["date_source"] == DateSource.TEXT.value else None
        return {"routed": True, "late": is_late(held, now)}


_EVENTS = EventRow.__table__  # type: ignore[attr-defined]

# Events that may be the one a report tells of (either side may be the watched one): one
# statement, compiled once. Two plain binds, not an expanding IN: that is re-rendered at
# every execution, a third of the candidates query's cost.
_CANDIDATES = select(_EVENTS).where(
    _EVENTS.c.kind == bindparam("kind"),
    _EVENTS.c.official_country.in_([bindparam("a"), bindparam("b")]),
    _EVENTS.c.country.in_([bindparam("a"), bindparam("b")]),
    or_(
        _EVENTS.c.event_date.between(bindparam("lo"), bindparam("hi")),
        _EVENTS.c.anchor.between(bindparam("from"), bindparam("to")),
    ),
)

# What a merge changes on an event row: SET takes the columns of the parameters given.
_UPDATE_EVENT = update(_EVENTS).where(_EVENTS.c.id == bindparam("b_id"))


def _start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def _known(r: Any) -> KnownEvent:
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


def _changes(before: KnownEvent, after: KnownEvent, report: Report) -> dict[str, Any]:
    """The columns to write for what ``absorb`` filled in: a stated date, the other side, a
    better counterpart."""
    changes: dict[str, Any] = {}
    if after.date and not before.date:
        changes |= {"event_date": after.date, "date_source": DateSource.TEXT.value}
    if after.peer and not before.peer:
        other = next(m for m in (report.meeting, report.peer) if m and m.official_id == after.peer)
        changes |= _peer_values(other)
    mine = view(report, before)
    if mine is not None and after.counterpart != before.counterpart:
        changes |= {
            "counterpart": mine.counterpart,
            "evidence": mine.evidence,
            "trigger": mine.trigger,
            "spans": _spans(mine),
        }
    return changes


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
