"""I/O: events read back for the digest, the CLI and alerts: each event with its sources
(the feed, title, link and date of every report of it).

A mixin of ``store.Store`` (which provides ``_session`` and ``_guard``); the web's own
listings are in ``queries``, which reads rows with ``meeting_from_row`` too.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager

from sqlalchemy import select
from sqlmodel import Session, col

from monitor.models import DateSource, Event, EventKind, Meeting, Source, Span
from monitor.tables import EventRow, EventSourceRow, FeedRow, ItemRow


class EventReads:
    """Mixed into Store."""

    def _session(self) -> Session:
        raise NotImplementedError

    def _guard(self, what: str) -> AbstractContextManager[None]:
        raise NotImplementedError

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
