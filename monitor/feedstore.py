"""I/O: the SQL behind fetching (issue 5): poll outcomes in batches, seen keys for catch-up,
source health, article cache.

A mixin of ``store.Store`` so store.py stays one screenful per concern; the same rules hold
here: one short transaction per call, values out (never ORM rows), SQLAlchemy errors become
StoreError through ``Store._guard``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Update, bindparam, func, select, update
from sqlmodel import Session, col

from monitor.db import insert_for
from monitor.tables import ArticleRow, FeedRow, ItemRow


@dataclass(frozen=True, slots=True)
class CachedArticle:
    """A full-text fetch remembered per URL: its text, or why it failed and when to retry."""

    url: str
    fetched_at: datetime
    text: str | None
    error_kind: str | None
    retry_at: datetime | None


@dataclass(frozen=True, slots=True)
class PollDone:
    """A successful poll to record: when it ran, when to poll next, the validators and what
    the body said. ``body_hash`` and ``fetch_url`` are kept unless new values are given."""

    feed_id: int
    now: datetime
    next_poll_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    new_items: int = 0
    body_hash: str | None = None
    fetch_url: str | None = None

    def params(self) -> dict[str, Any]:
        return {
            "b_id": self.feed_id,
            "b_now": self.now,
            "b_next": self.next_poll_at,
            "b_etag": self.etag,
            "b_modified": self.last_modified,
            "b_new_at": self.now if self.new_items else None,
            "b_hash": self.body_hash,
            "b_url": self.fetch_url,
        }


def _poll_done_update() -> Update:
    # One statement for any number of feeds (executemany): success clears the failure
    # streak and releases the lease; NULL binds keep the stored value where noted.
    t = FeedRow.__table__  # type: ignore[attr-defined]
    c = t.c

    def bind(name: str, column: Any) -> Any:
        return bindparam(name, type_=column.type)

    return (
        update(t)
        .where(c.id == bindparam("b_id"))
        .values(
            next_poll_at=bind("b_next", c.next_poll_at),
            lease_owner=None,
            lease_until=None,
            failures=0,
            failing_since=None,
            last_success_at=bind("b_now", c.last_success_at),
            etag=bind("b_etag", c.etag),
            last_modified=bind("b_modified", c.last_modified),
            last_new_item_at=func.coalesce(
                bind("b_new_at", c.last_new_item_at), c.last_new_item_at
            ),
            body_hash=func.coalesce(bind("b_hash", c.body_hash), c.body_hash),
            fetch_url=func.coalesce(bind("b_url", c.fetch_url), c.fetch_url),
        )
    )


POLL_DONE = _poll_done_update()


def _poll_failed_update() -> Update:
    # One prebuilt statement, as POLL_DONE: loading the row into an ORM session and
    # flushing it cost ~380 µs a failed poll, this ~75 µs. The streak's start is kept; the
    # lease is released.
    t = FeedRow.__table__  # type: ignore[attr-defined]
    c = t.c
    now = bindparam("b_now", type_=c.last_error_at.type)
    return (
        update(t)
        .where(c.id == bindparam("b_id"))
        .values(
            next_poll_at=bindparam("b_next", type_=c.next_poll_at.type),
            lease_owner=None,
            lease_until=None,
            failures=c.failures + 1,
            failing_since=func.coalesce(c.failing_since, now),
            last_error_at=now,
            last_error_kind=bindparam("b_kind", type_=c.last_error_kind.type),
            last_error=bindparam("b_error", type_=c.last_error.type),
        )
    )


POLL_FAILED = _poll_failed_update()


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


class FeedStore:
    """Mixed into Store, which provides ``engine``, ``_session`` and ``_guard``."""

    engine: Engine

    def _session(self) -> Session:
        raise NotImplementedError

    def _guard(self, what: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    # ------------------------------------------------------------ polls

    def save_polls(self, done: Sequence[PollDone]) -> None:
        """Record successful polls and release their leases: one UPDATE, executed for every
        feed in one transaction (a tick's 304s are written together)."""
        if not done:
            return
        with self._guard("save polls"), self.engine.begin() as conn:
            conn.execute(POLL_DONE, [d.params() for d in done])

    # ------------------------------------------------------------ catch-up

    def known_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` this feed already stored."""
        if not keys:
            return set()
        with self._guard("known keys"), self._session() as s:
            found = s.execute(
                select(col(ItemRow.key)).where(
                    col(ItemRow.feed_id) == feed_id, col(ItemRow.key).in_(list(keys))
                )
            ).scalars()
            return set(found)

    def has_items(self, feed_id: int) -> bool:
        """True once the feed has stored any item (a first poll does not page back)."""
        with self._guard("has items"), self._session() as s:
            first = s.execute(
                select(col(ItemRow.id)).where(col(ItemRow.feed_id) == feed_id).limit(1)
            ).first()
            return first is not None

    # ------------------------------------------------------------ health

    def set_health(
        self, feed_id: int, expected: str | None, new: str | None, now: datetime
    ) -> bool:
        """Move a feed's notified health state from ``expected`` to ``new``; True if this
        call made the change (so exactly one instance sends the notice)."""
        current = (
            col(FeedRow.health_state).is_(None)
            if expected is None
            else col(FeedRow.health_state) == expected
        )
        stmt = (
            update(FeedRow)
            .where(col(FeedRow.id) == feed_id, current)
            .values(health_state=new, health_changed_at=now)
        )
        with self._guard("set health"), self._session() as s:
            changed = s.execute(stmt).rowcount  # type: ignore[attr-defined]
            s.commit()
        return bool(changed)

    # ------------------------------------------------------------ article cache

    def article(self, url: str) -> CachedArticle | None:
        with self._guard("load article"), self._session() as s:
            row = s.execute(
                select(ArticleRow).where(col(ArticleRow.url_hash) == url_hash(url))
            ).scalar_one_or_none()
            if row is None:
                return None
            return CachedArticle(row.url, row.fetched_at, row.text, row.error_kind, row.retry_at)

    def save_article(
        self,
        url: str,
        now: datetime,
        *,
        text: str | None,
        error_kind: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Remember a full-text result for ``url`` (insert or replace)."""
        values: dict[str, Any] = {
            "url_hash": url_hash(url),
            "url": url,
            "fetched_at": now,
            "text": text,
            "error_kind": error_kind,
            "retry_at": retry_at,
        }
        stmt = (
            insert_for(self.engine, ArticleRow)
            .values(values)
            .on_conflict_do_update(
                index_elements=["url_hash"],
                set_={k: v for k, v in values.items() if k != "url_hash"},
            )
        )
        with self._guard("save article"), self._session() as s:
            s.execute(stmt)
            s.commit()
