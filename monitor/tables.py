"""Declarative: the SQLModel tables. Imported by store and by migrations/env.py only.

Unique constraints carry the dedup guarantees: one item per (feed, key), one event per
key, one source per (event, item), one delivery per (event, subscriber, channel).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, MetaData, UniqueConstraint, false, true
from sqlmodel import Field, SQLModel

# Named constraints let Alembic's batch mode on SQLite alter them later.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


class FeedRow(SQLModel, table=True):
    __tablename__ = "feeds"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(unique=True)
    name: str
    active: bool = True
    next_poll_at: datetime = Field(index=True)
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    last_success_at: datetime | None = None
    last_new_item_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error_kind: str | None = None
    last_error: str | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    created_at: datetime
    # issue 5: ``url`` stays the configured identity; a permanent redirect moves fetch_url
    fetch_url: str | None = None
    body_hash: str | None = None  # sha256 of the last body parsed: same body, no parsing
    failing_since: datetime | None = None  # first failure of the current streak
    health_state: str | None = None  # the last admin notice sent: failing | silent | None
    health_changed_at: datetime | None = None


class ArticleRow(SQLModel, table=True):
    """Full-text cache: one extracted article per URL (issue 5)."""

    __tablename__ = "articles"

    id: int | None = Field(default=None, primary_key=True)
    url_hash: str = Field(unique=True)  # sha256 of url: URLs can outgrow an index entry
    url: str
    fetched_at: datetime
    text: str | None = None  # None when the fetch or extraction failed
    error_kind: str | None = None
    retry_at: datetime | None = None  # a failed URL is not fetched again before this


class ItemRow(SQLModel, table=True):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("feed_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(foreign_key="feeds.id", index=True)
    key: str
    title: str
    link: str | None = None
    published: datetime | None = None
    fetched_at: datetime


class EventRow(SQLModel, table=True):
    __tablename__ = "events"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    official_id: str = Field(index=True)
    official_name: str
    official_country: str
    watchlist: str
    country: str = Field(index=True)
    kind: str
    event_date: date | None = Field(default=None, index=True)
    date_source: str
    counterpart: str
    evidence: str
    trigger: str
    spans: str  # JSON list of [start, end, role] into evidence
    first_seen: datetime = Field(index=True)
    # issue 4: merging and alerting
    anchor: datetime | None = None  # when its first report was published (else fetched)
    routed: bool = Field(default=True, sa_column_kwargs={"server_default": true()})  # outbox rows
    late: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    peer_official_id: str | None = None  # the counterpart, when a watched official too
    peer_official_name: str | None = None
    peer_watchlist: str | None = None


class EventSourceRow(SQLModel, table=True):
    __tablename__ = "event_sources"
    __table_args__ = (UniqueConstraint("event_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    item_id: int = Field(foreign_key="items.id")
    evidence: str
    seen_at: datetime


class DeliveryRow(SQLModel, table=True):
    """The outbox: one row per (event, subscriber, channel), drained by the outbox tick."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscriber", "channel"),
        Index("ix_deliveries_subscriber_channel", "subscriber", "channel"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="events.id", index=True)
    subscriber: str
    channel: str  # models.channel_id(url): a hash, so secrets in URLs never reach the DB
    status: str = Field(default="pending", index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(index=True)
    last_error: str | None = None
    sent_at: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None
    created_at: datetime
    batch: str | None = None  # models.Batch: sent with the channel's other rows as one message


class MergeLockRow(SQLModel, table=True):
    """One row per pair of countries and kind, locked while a report of theirs is merged, so
    two instances (or threads) never both create the same event (issue 4)."""

    __tablename__ = "merge_locks"

    key: str = Field(primary_key=True)
    touched_at: datetime
