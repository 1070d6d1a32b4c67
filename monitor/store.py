"""I/O: every SQL statement monitor runs. Returns values from ``models``, never live ORM rows.

Each public function is one short transaction; callers on the event loop run them in a
thread. Claims use ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`` with a
lease, which SQLite runs too (it drops FOR UPDATE and has a single writer anyway).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from monitor.errors import StoreError
from monitor.events import KnownEvent, event_key, find_same, window
from monitor.models import (
    DateSource,
    DeliveryStatus,
    Entry,
    Event,
    EventKind,
    FeedSpec,
    Meeting,
    Source,
    Span,
    SubscriberSpec,
    channel_id,
)
from monitor.tables import DeliveryRow, EventRow, EventSourceRow, FeedRow, ItemRow


@dataclass(frozen=True, slots=True)
class FeedState:
    id: int
    url: str
    name: str
    active: bool
    next_poll_at: datetime
    etag: str | None
    last_modified: str | None
    failures: int
    last_success_at: datetime | None
    last_new_item_at: datetime | None
    last_error_kind: str | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery claimed from the outbox."""

    id: int
    event_id: int
    subscriber: str
    channel: str
    attempts: int


def _insert(engine: Engine, table: Any) -> Any:
    return (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(table)


def _feed_state(r: FeedRow) -> FeedState:
    assert r.id is not None
    return FeedState(
        r.id,
        r.url,
        r.name,
        r.active,
        r.next_poll_at,
        r.etag,
        r.last_modified,
        r.failures,
        r.last_success_at,
        r.last_new_item_at,
        r.last_error_kind,
        r.last_error,
    )


class Store:
    """The database behind one daemon (or one of several sharing PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # ------------------------------------------------------------ feeds

    def sync_feeds(self, specs: Sequence[FeedSpec], now: datetime) -> None:
        """Make the feeds table match the config: add new feeds (due now), rename, deactivate."""
        with self._guard("sync feeds"), self._session() as s:
            rows = {r.url: r for r in s.execute(select(FeedRow)).scalars()}
            wanted = {f.url: f for f in specs}
            for url, spec in wanted.items():
                row = rows.get(url)
                if row is None:
                    s.add(FeedRow(url=url, name=spec.name, next_poll_at=now, created_at=now))
                elif row.name != spec.name or not row.active:
                    row.name, row.active = spec.name, True
            for url, row in rows.items():
                if url not in wanted and row.active:
                    row.active = False
            s.commit()

    def make_all_due(self, now: datetime) -> None:
        """Mark every active feed due now (``poll --once`` polls them all)."""
        with self._guard("make feeds due"), self._session() as s:
            s.execute(update(FeedRow).where(col(FeedRow.active)).values(next_poll_at=now))
            s.commit()

    def claim_due_feeds(
        self, now: datetime, limit: int, owner: str, lease: timedelta
    ) -> list[FeedState]:
        """Lease up to ``limit`` due feeds to ``owner``; a lease past its time is free again."""
        due = (
            select(col(FeedRow.id))
            .where(
                col(FeedRow.active),
                col(FeedRow.next_poll_at) <= now,
                or_(col(FeedRow.lease_until).is_(None), col(FeedRow.lease_until) < now),
            )
            .order_by(col(FeedRow.next_poll_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(FeedRow)
            .where(col(FeedRow.id).in_(due))
            .values(lease_owner=owner, lease_until=now + lease)
            .returning(FeedRow)
        )
        with self._guard("claim feeds"), self._session() as s:
            rows = [_feed_state(r) for r in s.execute(stmt).scalars()]
            s.commit()
        return sorted(rows, key=lambda f: f.next_poll_at)

    def save_poll(
        self,
        feed_id: int,
        now: datetime,
        next_poll_at: datetime,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        new_items: int = 0,
        error_kind: str | None = None,
        error: str | None = None,
    ) -> None:
        """Record a poll's outcome and release the lease."""
        with self._guard("save poll"), self._session() as s:
            row = s.get(FeedRow, feed_id)
            if row is None:
                return
            row.next_poll_at = next_poll_at
            row.lease_owner = row.lease_until = None
            if error_kind is None:
                row.failures = 0
                row.last_success_at = now
                row.etag, row.last_modified = etag, last_modified
                if new_items:
                    row.last_new_item_at = now
            else:
                row.failures += 1
                row.last_error_at = now
                row.last_error_kind, row.last_error = error_kind, (error or "")[:500]
            s.commit()

    def feeds(self) -> list[FeedState]:
        with self._guard("list feeds"), self._session() as s:
            rows = s.execute(select(FeedRow).order_by(col(FeedRow.name))).scalars()
            return [_feed_state(r) for r in rows]

    # ------------------------------------------------------------ items

    def add_items(
        self, feed_id: int, entries: Iterable[Entry], now: datetime
    ) -> list[tuple[int, Entry]]:
        """Insert entries; return only the ones this feed had not seen, with their item ids."""
        by_key: dict[str, Entry] = {}
        for e in entries:
            by_key.setdefault(e.key, e)
        if not by_key:
            return []
        values = [
            {
                "feed_id": feed_id,
                "key": e.key,
                "title": e.title[:1000],
                "link": e.link,
                "published": e.published,
                "fetched_at": now,
            }
            for e in by_key.values()
        ]
        stmt = (
            _insert(self.engine, ItemRow)
            .values(values)
            .on_conflict_do_nothing(index_elements=["feed_id", "key"])
            .returning(col(ItemRow.id), col(ItemRow.key))
        )
        with self._guard("add items"), self._session() as s:
            new = [(item_id, by_key[key]) for item_id, key in s.execute(stmt)]
            s.commit()
        return new

    # ------------------------------------------------------------ events

    def record_meeting(
        self,
        item_id: int,
        meeting: Meeting,
        subscribers: Sequence[SubscriberSpec],
        now: datetime,
    ) -> int | None:
        """Store a meeting: a new event with its outbox rows (returns its id), or a source
        attached to the known event it reports again (returns None). One transaction."""
        lo, hi = window(meeting, now)
        with self._guard("record meeting"), self._session() as s:
            rows = s.execute(
                select(EventRow).where(
                    col(EventRow.official_id) == meeting.official_id,
                    col(EventRow.country) == meeting.country,
                    col(EventRow.kind) == str(meeting.kind),
                    or_(
                        col(EventRow.event_date).between(lo, hi),
                        col(EventRow.event_date).is_(None),
                    ),
                )
            ).scalars()
            known = [
                KnownEvent(
                    r.id or 0,
                    r.official_id,
                    r.country,
                    EventKind(r.kind),
                    r.event_date,
                    r.first_seen,
                )
                for r in rows
            ]
            same = find_same(meeting, known, now)
            if same is not None:
                self._attach(s, same.id, item_id, meeting, now)
                s.commit()
                return None
            inserted = s.execute(
                _insert(self.engine, EventRow)
                .values(**_event_values(meeting, now))
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(col(EventRow.id))
            ).scalar()
            if inserted is None:  # another instance stored the same key first
                existing = s.execute(
                    select(col(EventRow.id)).where(col(EventRow.key) == event_key(meeting))
                ).scalar_one()
                self._attach(s, existing, item_id, meeting, now)
                s.commit()
                return None
            self._attach(s, inserted, item_id, meeting, now)
            routed = [
                {
                    "event_id": inserted,
                    "subscriber": sub.name,
                    "channel": channel_id(url),
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for sub in subscribers
                if sub.wants(
                    watchlist=meeting.watchlist,
                    official_id=meeting.official_id,
                    country=meeting.country,
                )
                for url in sub.notify
            ]
            if routed:
                s.execute(
                    _insert(self.engine, DeliveryRow)
                    .values(routed)
                    .on_conflict_do_nothing(index_elements=["event_id", "subscriber", "channel"])
                )
            s.commit()
            return int(inserted)

    def _attach(
        self, s: Session, event_id: int, item_id: int, meeting: Meeting, now: datetime
    ) -> None:
        s.execute(
            _insert(self.engine, EventSourceRow)
            .values(event_id=event_id, item_id=item_id, evidence=meeting.evidence, seen_at=now)
            .on_conflict_do_nothing(index_elements=["event_id", "item_id"])
        )

    def event(self, event_id: int) -> Event | None:
        with self._guard("load event"), self._session() as s:
            row = s.get(EventRow, event_id)
            if row is None:
                return None
            return self._event(s, row)

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
            meeting=_meeting(row),
            first_seen=row.first_seen,
            sources=tuple(Source(*src) for src in sources),
        )

    # ------------------------------------------------------------ outbox

    def claim_deliveries(
        self, now: datetime, limit: int, owner: str, lease: timedelta
    ) -> list[Claimed]:
        due = (
            select(col(DeliveryRow.id))
            .where(
                col(DeliveryRow.status) == DeliveryStatus.PENDING.value,
                col(DeliveryRow.next_attempt_at) <= now,
                or_(col(DeliveryRow.lease_until).is_(None), col(DeliveryRow.lease_until) < now),
            )
            .order_by(col(DeliveryRow.next_attempt_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(DeliveryRow)
            .where(col(DeliveryRow.id).in_(due))
            .values(lease_owner=owner, lease_until=now + lease)
            .returning(
                col(DeliveryRow.id),
                col(DeliveryRow.event_id),
                col(DeliveryRow.subscriber),
                col(DeliveryRow.channel),
                col(DeliveryRow.attempts),
            )
        )
        with self._guard("claim deliveries"), self._session() as s:
            claimed = [Claimed(*r) for r in s.execute(stmt)]
            s.commit()
        return sorted(claimed, key=lambda c: c.id)

    def mark_sent(self, delivery_id: int, now: datetime) -> None:
        self._finish(delivery_id, status=DeliveryStatus.SENT, sent_at=now)

    def mark_failed(self, delivery_id: int, error: str, retry_at: datetime | None) -> None:
        """Retry at ``retry_at``, or give up for good when it is None."""
        if retry_at is None:
            self._finish(delivery_id, status=DeliveryStatus.FAILED, error=error)
        else:
            self._finish(delivery_id, status=DeliveryStatus.PENDING, error=error, retry_at=retry_at)

    def _finish(
        self,
        delivery_id: int,
        *,
        status: DeliveryStatus,
        sent_at: datetime | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        with self._guard("finish delivery"), self._session() as s:
            row = s.get(DeliveryRow, delivery_id)
            if row is None:
                return
            row.attempts += 1
            row.status = status.value
            row.lease_owner = row.lease_until = None
            if sent_at is not None:
                row.sent_at = sent_at
            if error is not None:
                row.last_error = error[:500]
            if retry_at is not None:
                row.next_attempt_at = retry_at
            s.commit()

    def delivery_counts(self) -> dict[str, int]:
        from sqlalchemy import func

        with self._guard("count deliveries"), self._session() as s:
            rows = s.execute(
                select(col(DeliveryRow.status), func.count()).group_by(col(DeliveryRow.status))
            ).all()
            return {status: n for status, n in rows}

    # ------------------------------------------------------------ errors

    def _guard(self, what: str) -> _Guard:
        return _Guard(what)


class _Guard:
    """Translate SQLAlchemy errors into StoreError naming the operation."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, SQLAlchemyError):
            raise StoreError(f"{self.what}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc


def _event_values(m: Meeting, now: datetime) -> dict[str, Any]:
    return {
        "key": event_key(m),
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
        "spans": json.dumps([[sp.start, sp.end, sp.role] for sp in m.spans]),
        "first_seen": now,
    }


def _meeting(r: EventRow) -> Meeting:
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
        spans=tuple(Span(a, b, role) for a, b, role in json.loads(r.spans)),
    )
