"""I/O, read-only: the SQL behind the web pages and exports (issue 8). Values out, never rows.

Filtering, counting and paging events over ``tables``; nothing here writes. A meeting's day
is its stated or published date; an event with no date is placed on the day it was first seen.
An official or watchlist filter also finds the events where that official is the other side.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import overload

from sqlalchemy import ColumnElement, Engine, and_, exists, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from monitor.errors import StoreError
from monitor.models import Event, EventKind, Source
from monitor.store_eventreads import meeting_from_row
from monitor.tables import EventRow, EventSourceRow, FeedRow, ItemRow


class Order(StrEnum):
    DATE = "date"  # by the meeting's day, newest first (pages, calendars)
    SEEN = "seen"  # by when monitor first saw it, newest first (Atom: what is new)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Every given field must match; ``None`` or empty accepts everything."""

    watchlist: str | None = None
    official: str | None = None  # an official id
    country: str | None = None  # the counterpart country or organisation
    kind: EventKind | None = None
    since: date | None = None  # inclusive
    until: date | None = None  # inclusive
    text: str | None = None  # case-insensitive, in the evidence, names and source titles


@dataclass(frozen=True, slots=True)
class Count:
    key: str  # what to filter by (an official id, a country)
    label: str
    n: int


@dataclass(frozen=True, slots=True)
class Counts:
    total: int
    countries: tuple[Count, ...]
    officials: tuple[Count, ...]


@dataclass(frozen=True, slots=True)
class Choices:
    """The values the filters can take, from what is stored."""

    watchlists: tuple[str, ...]
    officials: tuple[tuple[str, str], ...]  # (id, name)
    countries: tuple[str, ...]


@contextmanager
def _reading(engine: Engine, what: str) -> Iterator[Session]:
    try:
        with Session(engine) as s:
            yield s
    except SQLAlchemyError as e:
        raise StoreError(f"{what}: {type(e).__name__}: {e}".splitlines()[0]) from e


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)  # SQLModel binds aware datetimes only


def _where(f: EventFilter) -> list[ColumnElement[bool]]:
    ev = EventRow
    out: list[ColumnElement[bool]] = []
    if f.watchlist:
        out.append(or_(col(ev.watchlist) == f.watchlist, col(ev.peer_watchlist) == f.watchlist))
    if f.official:
        out.append(or_(col(ev.official_id) == f.official, col(ev.peer_official_id) == f.official))
    if f.country:
        out.append(col(ev.country) == f.country)
    if f.kind:
        out.append(col(ev.kind) == str(f.kind))
    if f.since:
        out.append(
            or_(
                col(ev.event_date) >= f.since,
                and_(col(ev.event_date).is_(None), col(ev.first_seen) >= _day_start(f.since)),
            )
        )
    if f.until:
        end = _day_start(f.until + timedelta(days=1))
        out.append(
            or_(
                col(ev.event_date) <= f.until,
                and_(col(ev.event_date).is_(None), col(ev.first_seen) < end),
            )
        )
    if f.text and f.text.strip():
        needle = f.text.strip()
        in_titles = exists(
            select(col(EventSourceRow.id))
            .join(ItemRow, col(ItemRow.id) == col(EventSourceRow.item_id))
            .where(
                col(EventSourceRow.event_id) == col(ev.id),
                col(ItemRow.title).icontains(needle, autoescape=True),
            )
        )
        fields = (ev.evidence, ev.counterpart, ev.official_name, ev.country, ev.trigger)
        out.append(
            or_(
                *(col(c).icontains(needle, autoescape=True) for c in fields),
                col(ev.peer_official_name).icontains(needle, autoescape=True),
                in_titles,
            )
        )
    return out


def list_events(
    engine: Engine, f: EventFilter, *, limit: int, offset: int = 0, order: Order = Order.DATE
) -> list[Event]:
    """One page of the events ``f`` accepts, with their sources."""
    ev = EventRow
    by = (
        [col(ev.event_date).desc().nulls_last(), col(ev.first_seen).desc()]
        if order is Order.DATE
        else [col(ev.first_seen).desc()]
    )
    stmt = select(ev).where(*_where(f)).order_by(*by, col(ev.id).desc()).limit(limit)
    with _reading(engine, "list events") as s:
        rows = list(s.execute(stmt.offset(offset)).scalars())
        sources = _sources(s, [r.id for r in rows if r.id is not None])
    return [_event(r, sources.get(r.id or 0, ())) for r in rows]


def count_events(engine: Engine, f: EventFilter) -> int:
    with _reading(engine, "count events") as s:
        n = s.execute(select(func.count(col(EventRow.id))).where(*_where(f))).scalar_one()
    return int(n)


def count_by(engine: Engine, f: EventFilter) -> Counts:
    """How many events ``f`` accepts, per counterpart country and per watched official."""
    ev = EventRow
    n = func.count(col(ev.id))
    with _reading(engine, "count events") as s:
        countries = s.execute(
            select(col(ev.country), n).where(*_where(f)).group_by(col(ev.country))
        ).all()
        officials = s.execute(
            select(col(ev.official_id), func.max(col(ev.official_name)), n)
            .where(*_where(f))
            .group_by(col(ev.official_id))
        ).all()
    by_country = sorted((Count(c, c, k) for c, k in countries), key=lambda c: (-c.n, c.label))
    by_official = sorted((Count(i, nm, k) for i, nm, k in officials), key=lambda c: (-c.n, c.label))
    return Counts(sum(c.n for c in by_country), tuple(by_country), tuple(by_official))


def choices(engine: Engine) -> Choices:
    ev = EventRow
    with _reading(engine, "filter choices") as s:
        wls = s.execute(select(col(ev.watchlist)).distinct()).scalars().all()
        peer_wls = s.execute(select(col(ev.peer_watchlist)).distinct()).scalars().all()
        officials = s.execute(
            select(col(ev.official_id), func.max(col(ev.official_name))).group_by(
                col(ev.official_id)
            )
        ).all()
        countries = s.execute(select(col(ev.country)).distinct()).scalars().all()
    return Choices(
        tuple(sorted({w for w in [*wls, *peer_wls] if w})),
        tuple(sorted(((i, nm) for i, nm in officials), key=lambda o: o[1])),
        tuple(sorted(countries)),
    )


def get_event(engine: Engine, event_id: int) -> Event | None:
    with _reading(engine, "load event") as s:
        row = s.get(EventRow, event_id)
        if row is None or row.id is None:
            return None
        return _event(row, _sources(s, [row.id]).get(row.id, ()))


def _sources(s: Session, ids: Sequence[int]) -> dict[int, tuple[Source, ...]]:
    """Every source of the given events, in the order they were seen: one query for all."""
    if not ids:
        return {}
    rows = s.execute(
        select(
            col(EventSourceRow.event_id),
            col(FeedRow.name),
            col(ItemRow.title),
            col(ItemRow.link),
            col(ItemRow.published),
        )
        .select_from(EventSourceRow)
        .join(ItemRow, col(ItemRow.id) == col(EventSourceRow.item_id))
        .join(FeedRow, col(FeedRow.id) == col(ItemRow.feed_id))
        .where(col(EventSourceRow.event_id).in_(list(ids)))
        .order_by(col(EventSourceRow.seen_at), col(EventSourceRow.id))
    ).all()
    out: dict[int, list[Source]] = {}
    for event_id, feed, title, link, published in rows:
        out.setdefault(event_id, []).append(Source(feed, title, link, utc(published)))
    return {k: tuple(v) for k, v in out.items()}


@overload
def utc(when: datetime) -> datetime: ...
@overload
def utc(when: None) -> None: ...
def utc(when: datetime | None) -> datetime | None:
    """Stored times are UTC; older SQLModel versions hand them back naive from SQLite."""
    if when is None:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _event(r: EventRow, sources: tuple[Source, ...]) -> Event:
    assert r.id is not None
    meeting = meeting_from_row(r)
    return Event(
        id=r.id,
        meeting=meeting,
        first_seen=utc(r.first_seen),
        sources=sources,
        late=r.late,
        peer=r.peer_official_name or "",
    )
