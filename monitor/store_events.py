"""I/O: the SQL behind events (issue 4): new items, their meetings merged into events, and the
outbox rows of the events that alert, all in one transaction (reading events back:
``store_eventreads``).

A mixin of ``store.Store`` (which provides ``engine``, ``_session`` and ``_guard``). The merge
decisions are ``events``' pure rules; this module loads what they need and writes what they
decide (rows to values and back: ``eventrows``). Polls that finish together are recorded in
one transaction (``record_polls``; ``deps.Grouped`` gathers them). Reports of one pair of
countries are merged one at a time across threads and instances: a ``merge_locks`` row is
locked first (SQLite's single writer does the same), all of a transaction's in one sorted pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, bindparam, or_, select, update
from sqlmodel import Session

from monitor.db import insert_for
from monitor.eventrows import (
    changes_of,
    day_start,
    distinct,
    event_values,
    known_event,
    lock_key,
    peer_values,
    seen_at,
)
from monitor.events import (
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
class Finds:
    """What one poll found, to record (``EventStore.record_polls``)."""

    feed_id: int
    found: Sequence[tuple[Entry, Sequence[Meeting]]]  # entries with their meetings
    router: Router  # who hears of the events that alert
    now: datetime
    alert: bool = True  # False: a first poll's backlog, recorded silently
    done: PollDone | None = None  # the poll itself, recorded with them (its lease released)


@dataclass(frozen=True, slots=True)
class Recorded:
    new_items: list[tuple[int, Entry]]  # (item id, entry) for entries this feed had not seen
    new_events: list[int]
    alerted: list[int]  # events whose alerts this call queued (new, or reported live at last)


_ITEMS: dict[str, Any] = {}  # the items INSERT per dialect, built once (compiled once)


def insert_new_items(
    s: Connection, engine: Engine, batch: Sequence[tuple[int, Iterable[Entry], datetime]]
) -> list[tuple[int, int, str]]:
    """INSERT feeds' entries (feed id, entries, when fetched), skipping the ones each feed
    already has; returns (id, feed id, key) of the rows it added: the only way items enter
    the database. One statement for every row of every feed (executemany with RETURNING:
    SQLAlchemy sends it as multi-row VALUES pages), compiled once per process."""
    rows = [
        {
            "feed_id": feed_id,
            "key": e.key,
            "title": e.title[:1000],
            "link": e.link,
            "published": e.published,
            "fetched_at": now,
        }
        for feed_id, entries, now in batch
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
            .returning(table.c.id, table.c.feed_id, table.c.key)
        )
    return [(item_id, feed_id, key) for item_id, feed_id, key in s.execute(stmt, rows)]


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
        """``record_polls`` for one poll."""
        return self.record_polls([Finds(feed_id, found, router, now, alert, done)])[0]

    def record_polls(self, polls: Sequence[Finds]) -> list[Recorded]:
        """Store the entries each poll's feed had not seen and merge their meetings into
        events; queue alerts (its ``router``) for new events when ``alert``, else record them
        silently; with ``done``, record the poll itself. One transaction for all the polls,
        taken in order: a crash leaves either all of it or none of it."""
        firsts = [distinct(p.found) for p in polls]
        outs = [Recorded([], [], []) for _ in polls]
        if not any(firsts):
            self.save_polls([p.done for p in polls if p.done is not None])
            return outs
        # Core on one connection, not the ORM: a poll's first fetch of 1,000 feeds records
        # 20,000 items and merges 2,000 reports, and the Session's per-statement bookkeeping
        # and row objects cost more than the SQL
        with self._guard("record entries"), self.engine.begin() as s:
            batch = [
                (p.feed_id, [e for e, _ in d.values()], p.now)
                for p, d in zip(polls, firsts, strict=True)
            ]
            added = insert_new_items(s, self.engine, batch)
            ids = {(feed, key): item for item, feed, key in added}
            new: list[list[tuple[int, Entry, list[Report]]]] = []
            for p, d in zip(polls, firsts, strict=True):
                # popped: an item is new to one poll only
                taken = [(ids.pop((p.feed_id, k), None), e, ms) for k, (e, ms) in d.items()]
                new.append([(i, e, reports_of(ms)) for i, e, ms in taken if i is not None])
            # every lock of the batch in one sorted pass (see _lock)
            keys = {lock_key(r) for items in new for _, _, reports in items for r in reports}
            self._lock(s, sorted(keys), max(p.now for p in polls))
            sources: list[dict[str, Any]] = []  # (event, item) links, inserted together
            polled: list[dict[str, Any]] = []
            for p, items, out in zip(polls, new, outs, strict=True):
                for item_id, entry, reports in items:
                    out.new_items.append((item_id, entry))
                    seen = seen_at(entry, p.now)
                    fed: set[int] = set()  # an item's meetings the matcher kept apart stay apart
                    for report in reports:
                        event_id, evidence = self._merge(
                            s, report, seen, p.router, p.now, p.alert, out, fed
                        )
                        fed.add(event_id)
                        sources.append(
                            {
                                "event_id": event_id,
                                "item_id": item_id,
                                "evidence": evidence,
                                "seen_at": p.now,
                            }
                        )
                if p.done is not None:
                    polled.append(replace(p.done, new_items=len(out.new_items)).params())
            if sources:
                s.execute(_statement(self.engine, "source"), sources)
            if polled:
                s.execute(POLL_DONE, polled)
        return outs

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
        same = find_same(report, [known_event(r) for r in rows.values()], seen, fed)
        row = rows[same.id] if same else self._insert_event(s, report, seen, now)
        if same is None and row.id not in out.new_events:
            out.new_events.append(row.id)
        before = same or known_event(row)
        changes = changes_of(before, absorb(before, report), report)
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
                "from": day_start(lo),
                "to": day_start(hi + timedelta(days=1)),
            },
        ).all()

    def _insert_event(
        self, s: Connection, report: Report, seen: datetime, now: datetime
    ) -> Row[Any]:
        m = report.meeting
        values = {**event_values(m, now), "key": event_key(m, seen), "anchor": seen}
        values["routed"] = False
        if report.peer is not None:
            values |= peer_values(report.peer)
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
